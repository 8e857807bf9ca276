#include <cstdio>

#include "cli/berth/commands.h"
#include "cli/berth/flags.h"
#include "runtime/container.h"

namespace berth::cli {

int CmdExec(const Globals& g, const Args& a) {
  runtime::ExecOptions o;
  o.root = g.root;
  FlagSet f("exec");
  f.String("p,process", &o.process_file, "path to a process.json");
  f.Bool("t,tty", &o.tty, "allocate a pseudo-TTY");
  f.String("console-socket", &o.console_socket, "unix socket to send the pty master to");
  f.Bool("d,detach", &o.detach, "detach from the process");
  f.String("pid-file", &o.pid_file, "file to write the process's pid to");
  f.String("cwd", &o.cwd, "working directory in the container");
  f.StringList("e,env", &o.env, "set an environment variable (repeatable)");
  f.String("u,user", &o.user, "UID[:GID]");
  f.StringList("g,additional-gids", &o.additional_gids, "additional gid (repeatable)");
  f.StringList("c,cap", &o.caps, "add a capability (repeatable)");
  f.Bool("no-new-privs", &o.no_new_privs, "set no_new_privs");
  f.Int("preserve-fds", &o.preserve_fds, "number of extra fds (from 3) to pass");
  f.String("apparmor", &o.apparmor_profile, "AppArmor profile (fails when AppArmor is absent)");
  f.String("process-label", &o.process_label, "SELinux label (fails when SELinux is absent)");
  f.Ignored("cgroup", true, "sub-cgroup to join (not supported)");
  auto pos = f.Parse(a);
  if (!pos) return ReportError(pos.error().Message());
  if (f.HelpRequested()) {
    printf("Usage: berth exec [options] <container-id> <command> [args...]\n\n%s",
           f.Usage().c_str());
    return 0;
  }
  if (pos->empty()) return ReportError("usage: berth exec [options] <container-id> <command>");
  o.id = (*pos)[0];
  o.args.assign(pos->begin() + 1, pos->end());
  auto r = runtime::Exec(o);
  if (!r) return ReportError(r.error().Message());
  return *r;
}

}  // namespace berth::cli
