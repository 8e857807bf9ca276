#include "cli/berth/flags.h"

#include <cstdlib>

namespace berth::cli {

void FlagSet::Add(const std::string& names, Flag::Kind kind, void* out, const std::string& help) {
  Flag f{{}, kind, out, help};
  size_t start = 0;
  while (start <= names.size()) {
    size_t end = names.find(',', start);
    if (end == std::string::npos) end = names.size();
    f.names.push_back(names.substr(start, end - start));
    start = end + 1;
  }
  flags_.push_back(std::move(f));
}

void FlagSet::Bool(const std::string& n, bool* o, const std::string& h) { Add(n, Flag::kBool, o, h); }
void FlagSet::String(const std::string& n, std::string* o, const std::string& h) {
  Add(n, Flag::kString, o, h);
}
void FlagSet::Int(const std::string& n, int* o, const std::string& h) { Add(n, Flag::kInt, o, h); }
void FlagSet::StringList(const std::string& n, std::vector<std::string>* o, const std::string& h) {
  Add(n, Flag::kList, o, h);
}
void FlagSet::Ignored(const std::string& n, bool takes_value, const std::string& h) {
  Add(n, takes_value ? Flag::kIgnoredValue : Flag::kIgnoredBool, nullptr, h);
}

const FlagSet::Flag* FlagSet::Find(const std::string& name) const {
  for (const auto& f : flags_)
    for (const auto& n : f.names)
      if (n == name) return &f;
  return nullptr;
}

Result<std::vector<std::string>> FlagSet::Parse(const std::vector<std::string>& args) {
  std::vector<std::string> pos;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.size() < 2 || a[0] != '-') break;
    std::string body = a.substr(a[1] == '-' ? 2 : 1);
    std::string value;
    bool has_value = false;
    if (auto eq = body.find('='); eq != std::string::npos) {
      value = body.substr(eq + 1);
      body = body.substr(0, eq);
      has_value = true;
    }
    if (body == "h" || body == "help") {
      help_ = true;
      continue;
    }
    const Flag* f = Find(body);
    if (!f) return InvalidArgument(command_, a, "flag provided but not defined");
    auto need_value = [&]() -> Result<std::string> {
      if (has_value) return value;
      if (i + 1 >= args.size()) return InvalidArgument(command_, a, "flag needs an argument");
      return args[++i];
    };
    switch (f->kind) {
      case Flag::kBool:
      case Flag::kIgnoredBool: {
        bool v = true;
        if (has_value) {
          if (value == "true" || value == "1") v = true;
          else if (value == "false" || value == "0") v = false;
          else return InvalidArgument(command_, a, "invalid boolean value");
        }
        if (f->out) *static_cast<bool*>(f->out) = v;
        break;
      }
      case Flag::kString:
        *static_cast<std::string*>(f->out) = BERTH_TRY(need_value());
        break;
      case Flag::kIgnoredValue:
        (void)BERTH_TRY(need_value());
        break;
      case Flag::kInt: {
        std::string v = BERTH_TRY(need_value());
        char* end = nullptr;
        long n = strtol(v.c_str(), &end, 10);
        if (v.empty() || *end) return InvalidArgument(command_, a, "invalid integer \"" + v + "\"");
        *static_cast<int*>(f->out) = static_cast<int>(n);
        break;
      }
      case Flag::kList:
        static_cast<std::vector<std::string>*>(f->out)->push_back(BERTH_TRY(need_value()));
        break;
    }
  }
  for (; i < args.size(); ++i) pos.push_back(args[i]);
  return pos;
}

std::string FlagSet::Usage() const {
  std::string u = "Options:\n";
  for (const auto& f : flags_) {
    std::string names;
    for (const auto& n : f.names) {
      if (!names.empty()) names += ", ";
      names += (n.size() == 1 ? "-" : "--") + n;
    }
    if (f.kind == Flag::kString || f.kind == Flag::kInt || f.kind == Flag::kList ||
        f.kind == Flag::kIgnoredValue)
      names += " value";
    u += "   " + names;
    if (names.size() < 30) u += std::string(30 - names.size(), ' ');
    u += "  " + f.help + "\n";
  }
  return u;
}

}  // namespace berth::cli
