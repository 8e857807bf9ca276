// berthctl — the user's CLI: the image workflows (pull, images, rmi, inspect, import, export,
// gc, run --local) straight on the image store, without a daemon; docker-style run and rm
// through berthd; and crictl's commands against a CRI runtime's socket (cri_commands.h:
// version, info, runp, pods, create, ps, exec, logs, namespaces, ...).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <utility>
#include <vector>

#include "base/log.h"
#include "cli/berthctl/commands.h"
#include "cli/berthctl/cri_commands.h"

namespace berth::cli {

int Fail(const Error& e) {
  fprintf(stderr, "berthctl: %s\n", e.Message().c_str());
  return 1;
}

namespace {

int Main(int argc, char** argv) {
  CLI::App app{"berthctl — pull, list and run container images; drive a CRI runtime"};
  app.require_subcommand(1);
  Globals g;
  std::string log_level = "warn";
  app.add_option("--root", g.root, "image store directory")->capture_default_str();
  app.add_option("--hosts-dir", g.hosts_dir, "registry hosts.toml directory (containerd format)")
      ->capture_default_str();
  app.add_option("--auth-file", g.auth_file,
                 "docker-style config.json with registry credentials");
  app.add_option("--insecure-registry", g.insecure, "use plain HTTP for this registry (repeatable)");
  app.add_option("--log-level", log_level, "debug adds debug messages (info, warn, error: the default)")->capture_default_str();
  auto* o_config = app.add_option("--config", g.config, "berth.toml; its [image] table sets the limits")
                       ->capture_default_str()
                       ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  // Image limits (docs/images.md "Limits"): --max-layer-size 8GiB …, 0 turns one off.
  std::vector<std::pair<std::string, std::string>> limit_flags;
  for (std::string_view key : image::LimitKeys()) {
    std::string flag = "--" + std::string(key);
    std::replace(flag.begin(), flag.end(), '_', '-');
    std::string k(key);
    app.add_option_function<std::string>(
        flag, [&limit_flags, k](const std::string& v) { limit_flags.emplace_back(k, v); },
        "image limit " + k + " (default " + image::LimitDefaultText(k) + ")");
  }

  PullArgs pull;
  auto* c_pull = app.add_subcommand("pull", "pull an image from a registry");
  c_pull->add_option("--platform", pull.platform, "os/arch[/variant] (default: this machine's)");
  c_pull->add_flag("-q,--quiet", pull.quiet, "no progress output");
  c_pull->add_option("--user", g.user, "USER:PASS for the registry");
  c_pull->add_option("ref", pull.ref, "image reference")->required();

  bool images_quiet = false, digests = false;
  auto* c_images = app.add_subcommand("images", "list images");
  c_images->alias("ls");
  c_images->add_flag("-q,--quiet", images_quiet, "names only");
  c_images->add_flag("--digests", digests, "show digests");

  std::vector<std::string> rmi_refs;
  auto* c_rmi = app.add_subcommand("rmi", "remove image names (blobs go with gc)");
  c_rmi->add_option("ref", rmi_refs, "image references")->required();

  std::string inspect_ref, inspect_platform;
  auto* c_inspect = app.add_subcommand("inspect", "print an image's config as JSON");
  c_inspect->add_option("--platform", inspect_platform, "platform of a multi-platform image");
  c_inspect->add_option("ref", inspect_ref, "image reference or ID")->required();

  auto* c_gc = app.add_subcommand("gc", "remove unreferenced blobs and layers");
  c_gc->alias("prune");

  CheckArgs check;
  auto* c_check = app.add_subcommand("check", "verify the store (blobs, layers, images); --repair removes what is broken");
  c_check->add_flag("--repair", check.repair, "remove what cannot be trusted, unpack layers again from good blobs");
  c_check->add_flag("--quick", check.quick, "do not re-hash blobs");
  c_check->add_option("-o,--output", check.output, "json for a machine-readable report");

  std::string import_path, import_name;
  auto* c_import = app.add_subcommand("import", "import an OCI layout or docker-save archive");
  c_import->add_option("--name", import_name, "name for images the archive does not name");
  c_import->add_option("path", import_path, "tar file, OCI layout directory, or - for stdin")
      ->required();

  std::vector<std::string> export_refs;
  std::string export_out, export_format = "oci", export_platform;
  auto* c_export = app.add_subcommand("export", "export images to a tar archive");
  c_export->add_option("-o,--output", export_out, "output file (- for stdout)")->required();
  c_export->add_option("--format", export_format, "oci or docker")->capture_default_str();
  c_export->add_option("--platform", export_platform, "platform of multi-platform images");
  c_export->add_option("ref", export_refs, "image references")->required();

  RunArgs run;
  auto* c_run = app.add_subcommand(
      "run", "run a command in a new container from an image: through berthd (a pod and a "
             "container in namespace berthctl), or with --local without a daemon");
  c_run->add_flag("--local", run.local,
                  "no daemon: image -> bundle -> the OCI runtime in the foreground (--root's store)");
  c_run->add_flag("--rm", run.rm, "remove the container (and its pod) when it exits");
  c_run->add_flag("-d,--detach", run.detach, "print the container id and return (through berthd)");
  c_run->add_flag("-t,--tty", run.tty, "allocate a terminal (--local only until berthd has Attach)");
  c_run->add_flag("-i,--interactive", run.interactive,
                  "keep stdin open (--local only until berthd has Attach)");
  c_run->add_flag("--read-only", run.read_only, "read-only root filesystem");
  c_run->add_option("--name", run.name, "container name (--local: its id)");
  c_run->add_option("-e,--env", run.env, "environment variable K=V (repeatable)")
      ->allow_extra_args(false);
  c_run->add_option("-v,--volume", run.volumes, "bind mount SRC:DST[:ro] (repeatable; through berthd)")
      ->allow_extra_args(false);
  c_run->add_option("-p,--publish", run.ports,
                    "publish [IP:]HOST:CONTAINER[/tcp|udp] (repeatable; berthd's CNI portmap)")
      ->allow_extra_args(false);
  c_run->add_option("--network", run.network, "cni (berthd's CNI network) or host")
      ->capture_default_str();
  c_run->add_option("--cgroup-parent", run.cgroup_parent, "the pod's cgroup parent (through berthd)");
  c_run->add_option("-w,--workdir", run.workdir, "working directory");
  c_run->add_option("-u,--user", run.user, "user[:group]");
  c_run->add_option("--hostname", run.hostname, "container host name");
  c_run->add_option("--entrypoint", run.entrypoint, "override the image's entrypoint");
  c_run->add_option("--runtime", run.runtime,
                    "berthd's runtime handler; --local: the OCI runtime binary (default: berth)");
  c_run->add_option("--platform", run.platform, "--local: platform to pull if the image is missing");
  // berthctl's options stop at the first word that is not one of them: IMAGE. It and
  // everything after it (options included) are taken as they are: IMAGE [COMMAND ARG...].
  c_run->prefix_command();
  c_run->footer("Usage: berthctl run [OPTIONS] IMAGE [COMMAND [ARG...]]");

  RmArgs rm;
  auto* c_rm = app.add_subcommand("rm", "remove containers of run (with their pods; --local: of run --local)");
  c_rm->add_flag("--local", rm.local, "containers of run --local (bundles in --root's store)");
  c_rm->add_flag("-f,--force", rm.force, "remove running ones too (through berthd)");
  c_rm->add_option("--runtime", rm.runtime, "--local: OCI runtime binary the container ran with (default: berth)");
  c_rm->add_option("id", rm.ids, "container ids or names")->required();

  CriCommands cri;
  cri.Register(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  log::Init("", log::Format::kText, log_level == "debug");
  if (auto r = image::LoadLimits(g.limits, g.config, o_config->count() > 0); !r) return Fail(r.error());
  for (const auto& [key, value] : limit_flags)
    if (auto r = image::SetLimit(g.limits, key, value); !r)
      return Fail(r.error().Wrap("--" + key));

  if (*c_pull) return CmdPull(g, pull);
  if (*c_images) return CmdImages(g, images_quiet, digests);
  if (*c_rmi) return CmdRmi(g, rmi_refs);
  if (*c_inspect) return CmdInspect(g, inspect_ref, inspect_platform);
  if (*c_gc) return CmdGc(g);
  if (*c_check) return CmdCheck(g, check);
  if (*c_import) return CmdImport(g, import_path, import_name);
  if (*c_export) return CmdExport(g, export_refs, export_out, export_format, export_platform);
  if (*c_run) {
    run.args = c_run->remaining();
    if (!run.args.empty() && run.args.front() == "--") run.args.erase(run.args.begin());
    if (run.args.empty()) {
      fprintf(stderr, "berthctl: run: an image is required (berthctl run --help)\n");
      return 1;
    }
    run.image = run.args.front();
    run.args.erase(run.args.begin());
    if (run.local) return CmdRun(g, run);
    auto o = cri.DockerOptions();
    if (!o) return Fail(o.error());
    return DockerRun(*o, run);
  }
  if (*c_rm) {
    if (rm.local) return CmdRm(g, rm);
    auto o = cri.DockerOptions();
    if (!o) return Fail(o.error());
    return DockerRm(*o, rm);
  }
  if (auto rc = cri.Run()) return *rc;
  return 2;
}

}  // namespace
}  // namespace berth::cli

int main(int argc, char** argv) { return berth::cli::Main(argc, argv); }
