// sys/sealed_copy.h: the runtime copy that berthd shares among shims (CVE-2019-5736) holds
// the file's bytes and refuses every change; a file's identity changes when it is rewritten.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "base/unique_fd.h"
#include "sys/sealed_copy.h"
#include "test_util.h"

namespace berth::sys {
namespace {

struct TempDir : testutil::TempDir {
  TempDir() : testutil::TempDir("berth-sealed-copy-test") {}
};

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  off_t off = 0;
  while ((n = pread(fd, buf, sizeof buf, off)) > 0) {
    out.append(buf, static_cast<size_t>(n));
    off += n;
  }
  return out;
}

TEST(SealedCopyTest, HoldsTheBytesAndRefusesEveryChange) {
  TempDir d;
  std::string path = d.path() + "/bin";
  std::string data(100000, 'x');
  data += "end";
  std::ofstream(path) << data;
  UniqueFd src(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(src);
  auto copy = SealedCopy(src.Get(), path);
  ASSERT_TRUE(copy) << copy.error().Message();
  EXPECT_TRUE(IsSealedCopy(copy->Get()));
  EXPECT_FALSE(IsSealedCopy(src.Get()));
  EXPECT_EQ(data, ReadAll(copy->Get()));
  EXPECT_TRUE(fcntl(copy->Get(), F_GETFD) & FD_CLOEXEC);

  // Reopened for writing, as through /proc/<pid>/exe: nothing changes it.
  std::string again = "/proc/self/fd/" + std::to_string(copy->Get());
  UniqueFd w(open(again.c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(w);
  EXPECT_EQ(-1, write(w.Get(), "y", 1));
  EXPECT_EQ(-1, pwrite(w.Get(), "y", 1, 0));
  EXPECT_EQ(-1, ftruncate(w.Get(), 10));
  EXPECT_EQ(-1, ftruncate(w.Get(), 1 << 20));
  EXPECT_EQ(-1, fallocate(w.Get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096));
  EXPECT_EQ(MAP_FAILED, mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, w.Get(), 0));
  EXPECT_EQ(-1, fcntl(w.Get(), F_ADD_SEALS, 0));  // F_SEAL_SEAL: the seals stay
  EXPECT_EQ(data, ReadAll(copy->Get()));
}

TEST(SealedCopyTest, IdentityChangesWhenTheFileIsRewrittenOrReplaced) {
  TempDir d;
  std::string path = d.path() + "/bin";
  std::ofstream(path) << "one";
  struct stat a {}, b {}, c {};
  ASSERT_EQ(0, stat(path.c_str(), &a));
  EXPECT_EQ(FileIdentity(a), FileIdentity(a));
  std::ofstream(path, std::ios::app) << "two";  // rewritten in place
  ASSERT_EQ(0, stat(path.c_str(), &b));
  EXPECT_NE(FileIdentity(a), FileIdentity(b));
  std::ofstream(path + ".new") << "onetwo";  // replaced by rename (an upgrade)
  ASSERT_EQ(0, rename((path + ".new").c_str(), path.c_str()));
  ASSERT_EQ(0, stat(path.c_str(), &c));
  EXPECT_NE(FileIdentity(b), FileIdentity(c));
}

}  // namespace
}  // namespace berth::sys
