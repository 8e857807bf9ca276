// What an OCI runtime's failure means: its exit status and the text it printed, turned into
// an Error with a kind. The runtime's binary is a separate program, so its text is the only
// channel it has; this file is the one place in berth that reads it (runc, crun and berth
// texts; containerd's shim and go-runc match the same words).
//
// The text comes in three forms:
//   runc/berth (text):  time="..." level=error msg="container does not exist"
//   runc/berth (json):  {"level":"error","msg":"container does not exist","time":"..."}
//   plain:              berth: kill "web": container is not running
//                       error opening file `/run/crun/web/status`: No such file or directory
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace berth::oci {

// The runtime's own message: the msg of every error-level line (text or JSON log form), or,
// when there is none, every other non-empty line; a leading "berth: " is dropped, repeats
// are kept once, and lines are joined with "; ". Empty when the text holds nothing.
std::string RuntimeMessage(std::string_view text);

// The kind a runtime's message implies for `command` ("create", "kill", ...):
//   kNotFound           the container does not exist (all but create/run, where "not found"
//                       names a missing executable or bundle file, not the container)
//   kAlreadyExists      create/run of an id in use
//   kFailedPrecondition the container is in the wrong state (not running, not stopped,
//                       still running, not created/paused, the process is gone)
//   kUnknown            anything else
ErrorKind KindFromRuntimeMessage(std::string_view command, std::string_view message);

// The Error for a runtime command that exited with wait_status (non-zero) and printed
// `text`: op "<runtime> <command>", subject the quoted id, detail the runtime's message
// (or how it exited when it said nothing).
Error RuntimeError(const std::string& runtime, std::string_view command, const std::string& id,
                   int wait_status, std::string_view text);

}  // namespace berth::oci
