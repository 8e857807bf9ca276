// One function per runc command; each parses its own flags and returns the exit code.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"

namespace berth::cli {

struct Globals {
  std::string root = "/run/berth";
  std::string log_file;
  std::string log_format = "text";
  bool debug = false;
  bool systemd_cgroup = false;
  int argc = 0;  // the command line, for re-executing from a sealed copy
  char** argv = nullptr;
};

using Args = std::vector<std::string>;

int CmdCreate(const Globals& g, const Args& a);
int CmdRun(const Globals& g, const Args& a);
int CmdStart(const Globals& g, const Args& a);
int CmdState(const Globals& g, const Args& a);
int CmdKill(const Globals& g, const Args& a);
int CmdDelete(const Globals& g, const Args& a);
int CmdList(const Globals& g, const Args& a);
int CmdPs(const Globals& g, const Args& a);
int CmdPause(const Globals& g, const Args& a);
int CmdResume(const Globals& g, const Args& a);
int CmdExec(const Globals& g, const Args& a);
int CmdEvents(const Globals& g, const Args& a);
int CmdUpdate(const Globals& g, const Args& a);
int CmdSpec(const Globals& g, const Args& a);
int CmdFeatures(const Globals& g, const Args& a);

class FlagSet;
// Parses flags and requires between n and max positional arguments; prints usage and
// exits 0 on -h/--help.
Result<std::vector<std::string>> ParseWith(FlagSet& f, const std::vector<std::string>& a,
                                           size_t n, size_t max, const char* usage);

// Prints "berth: <msg>" to stderr and logs it (JSON when --log-format json); returns 1.
int ReportError(const std::string& msg);

}  // namespace berth::cli
