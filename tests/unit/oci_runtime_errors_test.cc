// The runtime's failure text -> message and kind, with the texts runc 1.1, crun 1.8 and
// berth print (captured from the real binaries).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include "oci/runtime_errors.h"

namespace berth::oci {
namespace {

int Exited(int code) { return code << 8; }  // a wait(2) status for exit(code)

TEST(OciRuntimeErrors, MessageFromRuncTextAndJsonLogLines) {
  EXPECT_EQ("container does not exist",
            RuntimeMessage("time=\"2026-12-01T19:56:45Z\" level=error msg=\"container does not exist\"\n"));
  EXPECT_EQ("container does not exist",
            RuntimeMessage("{\"level\":\"error\",\"msg\":\"container does not exist\","
                           "\"time\":\"2026-12-01T19:56:45Z\"}\n"));
  // Quotes and escapes inside msg (berth quotes ids).
  EXPECT_EQ("kill \"web\": container is not running",
            RuntimeMessage("time=\"x\" level=error msg=\"kill \\\"web\\\": container is not running\""));
}

TEST(OciRuntimeErrors, ErrorLinesWinOverWarningsAndDebug) {
  std::string text =
      "time=\"t\" level=debug msg=\"nsexec started\"\n"
      "time=\"t\" level=warning msg=\"cgroup v1 is deprecated\"\n"
      "time=\"t\" level=error msg=\"first\"\n"
      "{\"level\":\"fatal\",\"msg\":\"second\"}\n"
      "time=\"t\" level=error msg=\"first\"\n";
  EXPECT_EQ("first; second", RuntimeMessage(text));
  // Only warnings: they are all there is.
  EXPECT_EQ("w", RuntimeMessage("time=\"t\" level=warning msg=\"w\"\n"));
}

TEST(OciRuntimeErrors, PlainLinesOfBerthAndCrun) {
  EXPECT_EQ("kill \"web\": container is not running",
            RuntimeMessage("berth: kill \"web\": container is not running\n"));
  EXPECT_EQ("error opening file `/run/crun/x/status`: No such file or directory",
            RuntimeMessage("error opening file `/run/crun/x/status`: No such file or directory\n"));
  EXPECT_EQ("a; b", RuntimeMessage("\n  a  \n\nb\n"));
  EXPECT_EQ("", RuntimeMessage(""));
  EXPECT_EQ("", RuntimeMessage("\n \n"));
}

TEST(OciRuntimeErrors, MissingContainerIsNotFound) {
  for (const char* cmd : {"start", "state", "kill", "delete"}) {
    EXPECT_EQ(ErrorKind::kNotFound, KindFromRuntimeMessage(cmd, "container does not exist")) << cmd;
    EXPECT_EQ(ErrorKind::kNotFound,
              KindFromRuntimeMessage(cmd, "container \"web\": does not exist")) << cmd;
    EXPECT_EQ(ErrorKind::kNotFound,
              KindFromRuntimeMessage(
                  cmd, "error opening file `/run/crun/x/status`: No such file or directory"))
        << cmd;
    EXPECT_EQ(ErrorKind::kNotFound, KindFromRuntimeMessage(cmd, "container not found")) << cmd;
  }
  // For create, a missing file is the bundle's or the process's, not the container's.
  EXPECT_EQ(ErrorKind::kUnknown,
            KindFromRuntimeMessage("create", "exec: \"nope\": executable file not found in $PATH"));
}

TEST(OciRuntimeErrors, ExistingIdIsAlreadyExists) {
  EXPECT_EQ(ErrorKind::kAlreadyExists,
            KindFromRuntimeMessage("create", "container \"web\": already exists"));
  EXPECT_EQ(ErrorKind::kAlreadyExists,
            KindFromRuntimeMessage("run", "container `web` already exists"));
  EXPECT_EQ(ErrorKind::kAlreadyExists,
            KindFromRuntimeMessage("create", "container with given ID already exists"));
}

TEST(OciRuntimeErrors, WrongStateIsFailedPrecondition) {
  for (auto [cmd, text] : std::initializer_list<std::pair<const char*, const char*>>{
           {"kill", "container not running"},                                  // runc
           {"kill", "container is not running"},                               // berth
           {"kill", "container `web` is not running"},                         // crun
           {"kill", "no such process"},                                        // containerd's word
           {"start", "cannot start an already running container"},             // runc
           {"start", "cannot start a container that has stopped"},             // runc
           {"start", "cannot start a container that is stopped"},              // berth
           {"delete", "cannot delete container web that is not stopped: running"},  // runc
           {"delete", "cannot delete a container that is running (stop it first or use --force)"},
           {"delete", "the container `web` is not in `created` or `stopped` state"},  // crun
       }) {
    EXPECT_EQ(ErrorKind::kFailedPrecondition, KindFromRuntimeMessage(cmd, text)) << cmd << ": " << text;
  }
  EXPECT_EQ(ErrorKind::kUnknown, KindFromRuntimeMessage("kill", "permission denied by policy"));
}

TEST(OciRuntimeErrors, ErrorNamesRuntimeCommandIdAndText) {
  Error e = RuntimeError("/usr/sbin/runc", "state", "web", Exited(1),
                         "time=\"t\" level=error msg=\"container does not exist\"\n");
  EXPECT_TRUE(e.IsNotFound());
  EXPECT_EQ("/usr/sbin/runc state \"web\": container does not exist", e.Message());

  // berth's message names command and id itself: not said twice.
  Error k = RuntimeError("berth", "kill", "web", Exited(1),
                         "time=\"t\" level=error msg=\"kill \\\"web\\\": container is not running\"\n");
  EXPECT_TRUE(k.IsFailedPrecondition());
  EXPECT_EQ("berth kill \"web\": container is not running", k.Message());

  Error silent = RuntimeError("crun", "delete", "web", Exited(3), "");
  EXPECT_EQ(ErrorKind::kUnknown, silent.Kind());
  EXPECT_EQ("crun delete \"web\": exited with status 3 without a message", silent.Message());

  Error killed = RuntimeError("crun", "start", "web", SIGSEGV, "");
  EXPECT_NE(std::string::npos, killed.Message().find("killed by signal 11")) << killed.Message();
}

}  // namespace
}  // namespace berth::oci
