// Go-style flag parsing as runc's users type it: "-x", "--name", "-name" (one dash works
// for long names too), "--name=value", "--name value", bool flags with optional "=false".
// Parsing stops at the first positional argument or at "--" (urfave/cli semantics, which
// `runc exec ID cmd --flag` relies on).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/error.h"

namespace berth::cli {

class FlagSet {
 public:
  explicit FlagSet(std::string command) : command_(std::move(command)) {}
  // names: comma-separated aliases, e.g. "d,detach".
  void Bool(const std::string& names, bool* out, const std::string& help);
  void String(const std::string& names, std::string* out, const std::string& help);
  void Int(const std::string& names, int* out, const std::string& help);
  void StringList(const std::string& names, std::vector<std::string>* out, const std::string& help);
  // A flag accepted for compatibility and ignored (value-taking or not).
  void Ignored(const std::string& names, bool takes_value, const std::string& help);

  // Returns the positional arguments.
  Result<std::vector<std::string>> Parse(const std::vector<std::string>& args);
  std::string Usage() const;
  bool HelpRequested() const { return help_; }

 private:
  struct Flag {
    std::vector<std::string> names;
    enum Kind { kBool, kString, kInt, kList, kIgnoredBool, kIgnoredValue } kind;
    void* out;
    std::string help;
  };
  const Flag* Find(const std::string& name) const;
  void Add(const std::string& names, Flag::Kind kind, void* out, const std::string& help);

  std::string command_;
  std::vector<Flag> flags_;
  bool help_ = false;
};

}  // namespace berth::cli
