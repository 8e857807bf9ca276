// state, list, ps, spec.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/berth/commands.h"
#include "cli/berth/flags.h"
#include "runtime/container.h"
#include "spec/default_spec.h"
#include "spec/spec.h"
#include "sys/fs.h"

namespace berth::cli {

using nlohmann::ordered_json;

namespace {

// Reads /etc/passwd itself: berth is linked statically, and glibc's getpwuid would then
// need the NSS modules of the exact glibc it was built with.
std::string OwnerName(uid_t uid) {
  auto text = sys::ReadFile("/etc/passwd");
  if (text) {
    size_t pos = 0;
    while (pos < text->size()) {
      size_t end = text->find('\n', pos);
      if (end == std::string::npos) end = text->size();
      std::string line = text->substr(pos, end - pos);
      pos = end + 1;
      size_t c1 = line.find(':'), c2 = line.find(':', c1 + 1), c3 = line.find(':', c2 + 1);
      if (c1 == std::string::npos || c2 == std::string::npos || c3 == std::string::npos) continue;
      if (line.substr(c2 + 1, c3 - c2 - 1) == std::to_string(uid)) return line.substr(0, c1);
    }
  }
  return "#" + std::to_string(uid);
}

// runc's state/list document: the OCI state plus rootfs, created and owner.
ordered_json StateDoc(const runtime::State& st) {
  ordered_json j;
  j["ociVersion"] = spec::kOciVersion;
  j["id"] = st.id;
  j["pid"] = st.status == runtime::Status::kStopped ? 0 : st.pid;
  j["status"] = runtime::StatusName(st.status);
  j["bundle"] = st.bundle;
  j["rootfs"] = st.rootfs;
  j["created"] = st.created;
  j["owner"] = OwnerName(st.owner_uid);
  if (!st.annotations.empty()) j["annotations"] = st.annotations;
  return j;
}

}  // namespace

int CmdState(const Globals& g, const Args& a) {
  FlagSet f("state");
  auto pos = ParseWith(f, a, 1, 1, "state <container-id>");
  if (!pos) return ReportError(pos.error().Message());
  auto st = runtime::GetState(g.root, (*pos)[0]);
  if (!st) return ReportError(st.error().Wrap("state").Message());
  printf("%s\n", StateDoc(*st).dump(2).c_str());
  return 0;
}

int CmdList(const Globals& g, const Args& a) {
  bool quiet = false;
  std::string format = "table";
  FlagSet f("list");
  f.Bool("q,quiet", &quiet, "display only container ids");
  f.String("f,format", &format, "table or json");
  auto pos = ParseWith(f, a, 0, 0, "list [options]");
  if (!pos) return ReportError(pos.error().Message());
  if (format != "table" && format != "json")
    return ReportError("list: --format: unknown format \"" + format + "\" (table or json)");
  auto list = runtime::List(g.root);
  if (!list) return ReportError(list.error().Wrap("list").Message());
  if (quiet) {
    for (const auto& st : *list) printf("%s\n", st.id.c_str());
    return 0;
  }
  if (format == "json") {
    ordered_json arr = ordered_json::array();
    for (const auto& st : *list) arr.push_back(StateDoc(st));
    printf("%s\n", list->empty() ? "null" : arr.dump().c_str());
    return 0;
  }
  // Column widths like Go's tabwriter (min width, padding 3).
  std::vector<std::array<std::string, 6>> rows;
  rows.push_back({"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"});
  for (const auto& st : *list)
    rows.push_back({st.id,
                    std::to_string(st.status == runtime::Status::kStopped ? 0 : st.pid),
                    runtime::StatusName(st.status), st.bundle, st.created,
                    OwnerName(st.owner_uid)});
  size_t w[6] = {};
  for (const auto& r : rows)
    for (int i = 0; i < 6; ++i) w[i] = std::max(w[i], r[i].size());
  for (const auto& r : rows) {
    std::string line;
    for (int i = 0; i < 6; ++i) {
      line += r[i];
      if (i < 5) line += std::string(w[i] - r[i].size() + 3, ' ');
    }
    printf("%s\n", line.c_str());
  }
  return 0;
}

int CmdPs(const Globals& g, const Args& a) {
  std::string format = "table";
  FlagSet f("ps");
  f.String("f,format", &format, "table or json");
  auto pos = f.Parse(a);
  if (!pos) return ReportError(pos.error().Message());
  if (pos->empty()) return ReportError("usage: berth ps [options] <container-id> [ps options]");
  if (format != "table" && format != "json")
    return ReportError("ps: --format: unknown format \"" + format + "\" (table or json)");
  auto pids = runtime::Pids(g.root, (*pos)[0]);
  if (!pids) return ReportError(pids.error().Message());
  if (format == "json") {
    printf("%s\n", ordered_json(*pids).dump().c_str());
    return 0;
  }
  // Like runc: run ps(1) with the given options (default -ef) and keep the header and
  // the lines whose PID column is one of the container's.
  std::string cmd = "ps";
  if (pos->size() == 1) cmd += " -ef";
  for (size_t i = 1; i < pos->size(); ++i) cmd += " '" + (*pos)[i] + "'";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return ReportError("ps: cannot run ps(1)");
  char line[8192];
  int pid_col = -1;
  bool header = true;
  while (fgets(line, sizeof line, p)) {
    std::vector<std::string> cols;
    {
      std::string s = line, cur;
      for (char c : s) {
        if (c == ' ' || c == '\n' || c == '\t') {
          if (!cur.empty()) cols.push_back(cur), cur.clear();
        } else {
          cur += c;
        }
      }
      if (!cur.empty()) cols.push_back(cur);
    }
    if (header) {
      for (size_t i = 0; i < cols.size(); ++i)
        if (cols[i] == "PID") pid_col = static_cast<int>(i);
      if (pid_col < 0) {
        pclose(p);
        return ReportError("ps: could not find the PID column in ps output");
      }
      fputs(line, stdout);
      header = false;
      continue;
    }
    if (static_cast<int>(cols.size()) <= pid_col) continue;
    pid_t pid = static_cast<pid_t>(atoi(cols[pid_col].c_str()));
    for (pid_t q : *pids)
      if (q == pid) fputs(line, stdout);
  }
  pclose(p);
  return 0;
}

int CmdSpec(const Globals& g, const Args& a) {
  bool rootless = false;
  std::string bundle = ".";
  FlagSet f("spec");
  f.Bool("rootless", &rootless, "a config for a rootless container");
  f.String("b,bundle", &bundle, "where to write config.json");
  auto pos = ParseWith(f, a, 0, 0, "spec [--rootless] [--bundle DIR]");
  if (!pos) return ReportError(pos.error().Message());
  std::string path = bundle + "/config.json";
  struct stat sb;
  if (stat(path.c_str(), &sb) == 0) return ReportError("spec: " + path + " already exists");
  auto r = sys::WriteFileAtomic(path, spec::DefaultSpecJson(rootless) + "\n", 0644);
  if (!r) return ReportError("spec: " + r.error().Message());
  return 0;
}

}  // namespace berth::cli
