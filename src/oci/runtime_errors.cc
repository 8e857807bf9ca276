#include "oci/runtime_errors.h"

#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <vector>

namespace berth::oci {
namespace {

struct Line {
  std::string level;  // "" for a plain line
  std::string msg;
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A double-quoted value as logrus writes it (Go's strconv.Quote); `s` starts after the
// opening quote. Unknown escapes are kept as they are.
std::string Unquote(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    char c = s[i];
    if (c == '"') break;
    if (c != '\\' || i + 1 == s.size()) {
      out += c;
      continue;
    }
    char e = s[++i];
    switch (e) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      default:
        out += '\\';
        out += e;
    }
  }
  return out;
}

// The value of key=... in a logfmt line, or nullopt. Keys start the line or follow a space.
std::optional<std::string> LogfmtValue(std::string_view line, std::string_view key) {
  std::string k = std::string(key) + "=";
  for (size_t pos = line.find(k); pos != std::string_view::npos; pos = line.find(k, pos + 1)) {
    if (pos != 0 && line[pos - 1] != ' ') continue;
    std::string_view v = line.substr(pos + k.size());
    if (!v.empty() && v.front() == '"') return Unquote(v.substr(1));
    return std::string(v.substr(0, v.find(' ')));
  }
  return std::nullopt;
}

Line ParseLine(std::string_view raw) {
  std::string_view s = Trim(raw);
  if (!s.empty() && s.front() == '{') {
    auto j = nlohmann::json::parse(s, nullptr, false);
    if (j.is_object() && j.contains("msg") && j["msg"].is_string()) {
      std::string level = j.contains("level") && j["level"].is_string() ? j["level"].get<std::string>() : "";
      return {level, j["msg"].get<std::string>()};
    }
  }
  if (auto level = LogfmtValue(s, "level")) {
    if (auto msg = LogfmtValue(s, "msg")) return {*level, *msg};
  }
  // berth prints "berth: <message>" when it also logs to a --log file.
  for (std::string_view prefix : {"berth: ", "runc: ", "crun: "}) {
    if (s.starts_with(prefix)) {
      s.remove_prefix(prefix.size());
      break;
    }
  }
  return {"", std::string(s)};
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return out;
}

bool ContainsAny(const std::string& text, std::initializer_list<std::string_view> needles) {
  return std::any_of(needles.begin(), needles.end(),
                     [&](std::string_view n) { return text.find(n) != std::string::npos; });
}

}  // namespace

std::string RuntimeMessage(std::string_view text) {
  std::vector<Line> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    Line l = ParseLine(raw);
    if (!Trim(l.msg).empty()) lines.push_back(std::move(l));
  }
  auto is_error = [](const Line& l) {
    return l.level == "error" || l.level == "fatal" || l.level == "panic";
  };
  bool any_error = std::any_of(lines.begin(), lines.end(), is_error);
  bool any_plain = std::any_of(lines.begin(), lines.end(), [](const Line& l) { return l.level.empty(); });
  std::vector<std::string> picked;
  for (auto& l : lines) {
    bool take = any_error ? is_error(l) : any_plain ? l.level.empty() : true;
    if (!take) continue;
    std::string m(Trim(l.msg));
    if (std::find(picked.begin(), picked.end(), m) == picked.end()) picked.push_back(std::move(m));
  }
  std::string out;
  for (auto& m : picked) {
    if (!out.empty()) out += "; ";
    out += m;
  }
  return out;
}

ErrorKind KindFromRuntimeMessage(std::string_view command, std::string_view message) {
  std::string m = Lower(message);
  bool creates = command == "create" || command == "run";
  if (creates) {
    // runc: "container with given ID already exists"; crun: "container `web` already
    // exists"; berth: "container \"web\": already exists".
    if (m.find("already exists") != std::string::npos) return ErrorKind::kAlreadyExists;
    return ErrorKind::kUnknown;
  }
  // runc: "container does not exist"; crun: "error opening file `/run/crun/web/status`:
  // No such file or directory"; berth: "container \"web\": does not exist".
  if (ContainsAny(m, {"does not exist", "not found", "no such file or directory",
                      "no such container"}))
    return ErrorKind::kNotFound;
  // runc: "container not running", "cannot start an already running container", "cannot
  // start a container that has stopped", "cannot delete container web that is not stopped";
  // crun: "the container `web` is not in `created` or `stopped` state", "container `web`
  // is not running"; berth: "container is not running", "cannot start a container that is
  // stopped", "cannot delete a container that is running"; containerd also treats
  // "no such process" (the init is gone) as "not running".
  if (ContainsAny(m, {"not running", "is running", "already running", "not stopped",
                      "is stopped", "has stopped", "not paused", "is paused", "not created",
                      "no such process", "cannot start a container", "cannot delete"}) ||
      (m.find("not in") != std::string::npos && m.find("state") != std::string::npos))
    return ErrorKind::kFailedPrecondition;
  return ErrorKind::kUnknown;
}

Error RuntimeError(const std::string& runtime, std::string_view command, const std::string& id,
                   int wait_status, std::string_view text) {
  std::string quoted = "\"" + id + "\"";
  std::string msg = RuntimeMessage(text);
  // berth's own message repeats what we name already: `kill "web": container is not running`.
  for (std::string prefix : {std::string(command) + " " + quoted + ": ",
                             std::string(command) + " " + id + ": "}) {
    if (!id.empty() && msg.starts_with(prefix)) {
      msg.erase(0, prefix.size());
      break;
    }
  }
  ErrorKind kind = KindFromRuntimeMessage(command, msg);
  if (msg.empty()) {
    if (WIFSIGNALED(wait_status))
      msg = "killed by signal " + std::to_string(WTERMSIG(wait_status)) + " without a message";
    else
      msg = "exited with status " + std::to_string(WEXITSTATUS(wait_status)) +
            " without a message";
  }
  return Error{0, runtime + " " + std::string(command), id.empty() ? std::string() : quoted,
               std::move(msg), {}, kind};
}

}  // namespace berth::oci
