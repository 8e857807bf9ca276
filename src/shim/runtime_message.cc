#include "shim/runtime_message.h"

#include <nlohmann/json.hpp>
#include <vector>

namespace berth::shim {

namespace {

constexpr size_t kMaxMessage = 2048;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// msg="..." of runc's text log form, with \" unescaped.
std::string TextMsg(std::string_view line) {
  size_t p = line.find("msg=\"");
  if (p == std::string_view::npos) return {};
  std::string out;
  for (size_t i = p + 5; i < line.size(); i++) {
    if (line[i] == '\\' && i + 1 < line.size()) {
      out += line[++i];
    } else if (line[i] == '"') {
      break;
    } else {
      out += line[i];
    }
  }
  return out;
}

}  // namespace

std::string RuntimeMessage(std::string_view text) {
  std::vector<std::string> errors, others;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    std::string_view line =
        Trim(text.substr(pos, eol == std::string_view::npos ? text.npos : eol - pos));
    pos = eol == std::string_view::npos ? text.size() : eol + 1;
    if (line.empty()) continue;
    if (line.front() == '{') {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object()) {
        auto str = [&j](const char* k) {
          auto it = j.find(k);
          return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        std::string level = str("level"), msg = str("msg");
        if ((level == "error" || level == "fatal") && !msg.empty()) errors.push_back(msg);
        continue;  // info/debug lines of the log say nothing about the failure
      }
    }
    if (line.find("level=error") != std::string_view::npos ||
        line.find("level=fatal") != std::string_view::npos) {
      if (std::string m = TextMsg(line); !m.empty()) errors.push_back(m);
      continue;
    }
    if (line.find("level=") != std::string_view::npos &&
        line.find("msg=") != std::string_view::npos)
      continue;
    others.emplace_back(line);
  }
  const auto& pick = errors.empty() ? others : errors;
  std::string out;
  std::vector<std::string> seen;
  for (const auto& m : pick) {
    bool dup = false;
    for (const auto& s : seen) dup |= s == m;
    if (dup) continue;
    seen.push_back(m);
    if (!out.empty()) out += "; ";
    out += m;
  }
  if (out.size() > kMaxMessage) out = out.substr(0, kMaxMessage) + "...";
  return out;
}

}  // namespace berth::shim
