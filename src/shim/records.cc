#include "shim/records.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "sys/fs.h"

namespace berth::shim {

using Json = nlohmann::json;

namespace {

Result<Json> ParseRecord(std::string_view text, const char* what) {
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return DataLoss("parse", what, "not a JSON object (a torn or foreign file)");
  return j;
}

template <class T>
Result<T> Field(const Json& j, const char* what, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return DataLoss("parse", what, std::string("missing field ") + key);
  try {
    return it->get<T>();
  } catch (const Json::exception&) {
    return DataLoss("parse", what, std::string("field ") + key + " has the wrong type");
  }
}

template <class T>
T Optional(const Json& j, const char* key, T def) {
  auto it = j.find(key);
  if (it == j.end()) return def;
  try {
    return it->get<T>();
  } catch (const Json::exception&) {
    return def;
  }
}

std::string Dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace

std::string ExitRecordToJson(const ExitRecord& r) {
  return Dump(Json{{"pid", r.pid},
                   {"exit_code", r.exit_code},
                   {"signal", r.signal},
                   {"oom_killed", r.oom_killed},
                   {"exited_at", r.exited_at}});
}

Result<ExitRecord> ExitRecordFromJson(std::string_view text) {
  const char* what = "exit.json";
  Json j = BERTH_TRY(ParseRecord(text, what));
  ExitRecord r;
  r.pid = BERTH_TRY(Field<pid_t>(j, what, "pid"));
  r.exit_code = BERTH_TRY(Field<int>(j, what, "exit_code"));
  r.signal = BERTH_TRY(Field<int>(j, what, "signal"));
  r.oom_killed = BERTH_TRY(Field<bool>(j, what, "oom_killed"));
  r.exited_at = BERTH_TRY(Field<int64_t>(j, what, "exited_at"));
  return r;
}

Result<void> WriteExitRecord(const std::string& dir, const ExitRecord& r) {
  return sys::WriteFileDurable(dir + "/exit.json", ExitRecordToJson(r), 0600);
}

Result<ExitRecord> ReadExitRecord(const std::string& dir) {
  std::string text = BERTH_TRY(sys::ReadFile(dir + "/exit.json"));
  auto r = ExitRecordFromJson(text);
  if (!r) return std::unexpected(r.error().Wrap(dir));
  return r;
}

std::string ContainerRecordToJson(const ContainerRecord& r) {
  return Dump(Json{{"id", r.id},
                   {"bundle", r.bundle},
                   {"log_path", r.log_path},
                   {"tty", r.tty},
                   {"stdin", r.stdin},
                   {"stdin_once", r.stdin_once},
                   {"pid", r.pid},
                   {"pid_start_time", r.pid_start_time},
                   {"created_at", r.created_at},
                   {"started_at", r.started_at},
                   {"oom_file", r.oom_file},
                   {"oom_kills_at_start", r.oom_kills_at_start},
                   {"init_exe", r.init_exe}});
}

Result<ContainerRecord> ContainerRecordFromJson(std::string_view text) {
  const char* what = "container.json";
  Json j = BERTH_TRY(ParseRecord(text, what));
  ContainerRecord r;
  r.id = BERTH_TRY(Field<std::string>(j, what, "id"));
  r.bundle = BERTH_TRY(Field<std::string>(j, what, "bundle"));
  r.pid = BERTH_TRY(Field<pid_t>(j, what, "pid"));
  r.log_path = Optional<std::string>(j, "log_path", "");
  r.tty = Optional(j, "tty", false);
  r.stdin = Optional(j, "stdin", false);
  r.stdin_once = Optional(j, "stdin_once", false);
  r.pid_start_time = Optional<uint64_t>(j, "pid_start_time", 0);
  r.created_at = Optional<int64_t>(j, "created_at", 0);
  r.started_at = Optional<int64_t>(j, "started_at", 0);
  r.oom_file = Optional<std::string>(j, "oom_file", "");
  r.oom_kills_at_start = Optional<uint64_t>(j, "oom_kills_at_start", 0);
  r.init_exe = Optional<std::string>(j, "init_exe", "");
  return r;
}

Result<void> WriteContainerRecord(const std::string& dir, const ContainerRecord& r) {
  return sys::WriteFileDurable(dir + "/container.json", ContainerRecordToJson(r), 0600);
}

Result<ContainerRecord> ReadContainerRecord(const std::string& dir) {
  std::string text = BERTH_TRY(sys::ReadFile(dir + "/container.json"));
  auto r = ContainerRecordFromJson(text);
  if (!r) return std::unexpected(r.error().Wrap(dir));
  return r;
}

std::string ProcessExe(pid_t pid) {
  char buf[4096];
  std::string link = "/proc/" + std::to_string(pid) + "/exe";
  ssize_t n = readlink(link.c_str(), buf, sizeof buf);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof buf) return "";
  return std::string(buf, static_cast<size_t>(n));
}

bool InitHasExeced(const ContainerRecord& r) {
  if (r.init_exe.empty() || r.pid <= 0) return false;
  std::string now = ProcessExe(r.pid);
  return !now.empty() && now != r.init_exe;
}

uint64_t ParseOomKills(std::string_view text) {
  // "oom_kill N" is a line of both v2 memory.events and v1 memory.oom_control (4.13+).
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    std::string_view line = text.substr(pos, eol == std::string_view::npos ? text.npos : eol - pos);
    if (line.starts_with("oom_kill ")) {
      uint64_t v = 0;
      for (char c : line.substr(9)) {
        if (c < '0' || c > '9') break;
        v = v * 10 + static_cast<uint64_t>(c - '0');
      }
      return v;
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  return 0;
}

uint64_t ReadOomKills(const std::string& file) {
  if (file.empty()) return 0;
  auto text = sys::ReadFile(file);
  return text ? ParseOomKills(*text) : 0;
}

std::string FindOomFile(pid_t pid) {
  auto text = sys::ReadFile("/proc/" + std::to_string(pid) + "/cgroup");
  if (!text) return "";
  std::string v2_path;
  size_t pos = 0;
  while (pos < text->size()) {
    size_t eol = text->find('\n', pos);
    if (eol == std::string::npos) eol = text->size();
    std::string line = text->substr(pos, eol - pos);
    pos = eol + 1;
    // hierarchy-id:controllers:path
    size_t c1 = line.find(':'), c2 = c1 == std::string::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string::npos) continue;
    std::string ctrls = line.substr(c1 + 1, c2 - c1 - 1), path = line.substr(c2 + 1);
    if (ctrls.empty() && line.starts_with("0:")) {
      v2_path = path;
      continue;
    }
    size_t start = 0;
    while (start <= ctrls.size()) {
      size_t comma = ctrls.find(',', start);
      if (comma == std::string::npos) comma = ctrls.size();
      if (ctrls.compare(start, comma - start, "memory") == 0) {
        std::string f = "/sys/fs/cgroup/memory" + path + "/memory.oom_control";
        if (access(f.c_str(), R_OK) == 0) return f;
      }
      start = comma + 1;
    }
  }
  if (!v2_path.empty()) {
    // Only a pure v2 host mounts cgroup2 at /sys/fs/cgroup (a hybrid one has it at
    // /sys/fs/cgroup/unified, without the memory controller).
    std::string f = "/sys/fs/cgroup" + v2_path + "/memory.events";
    if (access(f.c_str(), R_OK) == 0) return f;
  }
  return "";
}

}  // namespace berth::shim
