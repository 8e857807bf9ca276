// Shared fixture for the root cgroup tests: a test-unique parent cgroup, child
// processes that wait to be moved, and a TearDown that thaws, kills and removes
// everything even when a test fails. And FakeCgroupFs, plain files in a temp dir, for the
// managers' Set without root.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cgroups/manager.h"
#include "cgroups/mounts.h"
#include "test_util.h"

namespace berth::cgroups::testing {

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

inline bool DirExists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// A forked child that waits for a byte on a pipe (sent once it is in the cgroup),
// then touches 4 MiB so the memory is charged to the new cgroup, then runs `after`
// (if any) and pauses. It dies with the test process.
struct Child {
  pid_t pid = -1;
  int go = -1;      // write end: release the child
  int report = -1;  // read end: what the child reports (see `after`)
  void Go() {
    char c = 'g';
    ASSERT_EQ(::write(go, &c, 1), 1);
  }
};

class CgroupRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_ROOT("real cgroups");
    parent_ = "/berth-test-" + std::to_string(::getpid());
    const std::string sub = ReadAll(HostMounts().unified + "/cgroup.subtree_control");
    hugetlb_was_enabled_ = sub.find("hugetlb") != std::string::npos;
  }

  void TearDown() override {
    if (parent_.empty()) return;
    std::vector<std::string> roots;
    for (const auto& h : HostMounts().v1) roots.push_back(h.mountpoint + parent_);
    if (!HostMounts().unified.empty()) roots.push_back(HostMounts().unified + parent_);
    // Frozen tasks cannot die: thaw first.
    for (const auto& r : roots) ThawTree(r);
    for (auto& c : children_) {
      if (c.pid > 0) {  // never kill(-1, ...)
        ::kill(c.pid, SIGKILL);
        ::waitpid(c.pid, nullptr, 0);
      }
      ::close(c.go);
      if (c.report >= 0) ::close(c.report);
    }
    for (const auto& r : roots) RemoveTree(r);
    if (!hugetlb_was_enabled_ && !HostMounts().unified.empty())
      (void)WriteStr(HostMounts().unified + "/cgroup.subtree_control", "-hugetlb");
  }

  // `after` runs in the child once released; it may write one int to `report`.
  Child Spawn(void (*after)(int report_fd) = nullptr) {
    int go[2], rep[2];
    EXPECT_EQ(::pipe2(go, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(rep, O_CLOEXEC), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      char c;
      if (::read(go[0], &c, 1) != 1) ::_exit(1);
      size_t n = 4 << 20;
      void* m = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (m != MAP_FAILED) std::memset(m, 1, n);
      if (after) after(rep[1]);
      for (;;) ::pause();
    }
    ::close(go[0]);
    ::close(rep[1]);
    Child c{pid, go[1], rep[0]};
    children_.push_back(c);
    return c;
  }

  // Waits for the child's exit and returns its wait status.
  int Reap(pid_t pid) {
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid);
    for (auto& c : children_)
      if (c.pid == pid) c.pid = -1;
    return status;
  }

  static bool WriteStr(const std::string& path, const std::string& v) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = ::write(fd, v.data(), v.size()) == static_cast<ssize_t>(v.size());
    ::close(fd);
    return ok;
  }

  static void ThawTree(const std::string& dir) {
    if (!DirExists(dir)) return;
    WriteStr(dir + "/freezer.state", "THAWED");
    WriteStr(dir + "/cgroup.freeze", "0");
    for (const auto& c : Children(dir)) ThawTree(dir + "/" + c);
  }

  static std::vector<std::string> Children(const std::string& dir) {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(dir.c_str())) {
      while (auto* e = ::readdir(d))
        if (e->d_type == DT_DIR && std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, ".."))
          out.push_back(e->d_name);
      ::closedir(d);
    }
    return out;
  }

  static void RemoveTree(const std::string& dir) {
    if (!DirExists(dir)) return;
    for (const auto& c : Children(dir)) RemoveTree(dir + "/" + c);
    for (int i = 0; i < 100 && ::rmdir(dir.c_str()) != 0 && errno == EBUSY; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  std::string parent_;
  std::vector<Child> children_;
  bool hugetlb_was_enabled_ = true;
};

// A cgroupfs made of plain directories and files, for what a manager writes (no root, no
// kernel). Interface files exist only where a test creates them (so a write to a wrong
// name fails with ENOENT, as on cgroupfs) and start empty. Each write lands at offset 0 of
// its file: a file written once holds exactly that write; one written again through a new
// open holds the last value only if it is at least as long as the earlier ones; several
// writes through one open (devices.allow) follow each other.
class FakeCgroupFs {
 public:
  const std::string& root() const { return tmp_.path(); }

  // Makes root()/rel (and its parents) with the given interface files, empty; returns it.
  std::string Dir(const std::string& rel, const std::vector<std::string>& files = {}) {
    std::string dir = root() + "/" + rel;
    std::filesystem::create_directories(dir);
    for (const auto& f : files) Put(dir + "/" + f, "");
    return dir;
  }
  static void Put(const std::string& path, const std::string& content) {
    std::ofstream(path, std::ios::trunc) << content;
  }
  // The whole file, as written (no trimming).
  static std::string Get(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  testutil::TempDir tmp_{"berth-fake-cgroupfs"};
};

}  // namespace berth::cgroups::testing
