// CRI ContainerConfig -> OCI config.json: the process (command, env, cwd, user), the
// namespaces, hostname and annotations. Security, mounts/devices and resources are in
// container_spec_{security,mounts,resources}.cc; RuntimeDefault seccomp in seccomp_default.cc.
#include "daemon/container_spec.h"

#include <algorithm>
#include <limits>

#include "daemon/container_spec_internal.h"
#include "image/bundle.h"
#include "image/image_user.h"
#include "spec/validate.h"

namespace berth::daemon {
namespace internal {

std::string Field(const std::string& list, size_t index, const std::string& member) {
  std::string f = list + "[" + std::to_string(index) + "]";
  if (!member.empty()) f += "." + member;
  return f;
}

}  // namespace internal

namespace {

using internal::kSecurityContext;

constexpr const char* kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The annotations containerd's CRI plugin sets (pkg/cri/annotations): tools that tell pods
// apart from their containers (e.g. monitoring agents, NRI plugins) read these.
constexpr const char* kContainerType = "io.kubernetes.cri.container-type";
constexpr const char* kSandboxId = "io.kubernetes.cri.sandbox-id";
constexpr const char* kSandboxName = "io.kubernetes.cri.sandbox-name";
constexpr const char* kSandboxNamespace = "io.kubernetes.cri.sandbox-namespace";
constexpr const char* kSandboxUid = "io.kubernetes.cri.sandbox-uid";
constexpr const char* kContainerName = "io.kubernetes.cri.container-name";
constexpr const char* kImageName = "io.kubernetes.cri.image-name";
constexpr const char* kStopSignal = "org.opencontainers.image.stopSignal";

std::string_view EnvKey(std::string_view kv) { return kv.substr(0, kv.find('=')); }

void SetEnv(std::vector<std::string>& env, std::string kv) {
  for (std::string& e : env)
    if (EnvKey(e) == EnvKey(kv)) {
      e = std::move(kv);
      return;
    }
  env.push_back(std::move(kv));
}

bool HasEnv(const std::vector<std::string>& env, std::string_view key) {
  return std::any_of(env.begin(), env.end(), [&](const std::string& e) { return EnvKey(e) == key; });
}

// A uid/gid from an Int64Value: (uint32_t)-1 means "unchanged" to set*id(2), never an id.
Result<uint32_t> Id(int64_t v, const std::string& field) {
  if (v < 0 || v >= std::numeric_limits<uint32_t>::max())
    return InvalidField(field, std::to_string(v) + " is not a valid id (0 to 4294967294)");
  return static_cast<uint32_t>(v);
}

// CRI: `command` replaces the image's Entrypoint and drops its Cmd; `args` alone replace
// the Cmd (kubelet's reading of pod.spec command/args, as Docker's --entrypoint/CMD).
Result<void> SetArgs(spec::Process& p, const v1::ContainerConfig& config,
                     const image::ImageConfig& image) {
  std::vector<std::string> args(config.command().begin(), config.command().end());
  if (args.empty()) args = image.entrypoint;
  if (!config.args().empty())
    args.insert(args.end(), config.args().begin(), config.args().end());
  else if (config.command().empty())
    args.insert(args.end(), image.cmd.begin(), image.cmd.end());
  if (args.empty())
    return InvalidField("command", "no command: the request has neither command nor args and the "
                                   "image has neither Entrypoint nor Cmd");
  p.args = std::move(args);
  return {};
}

// The user as Docker's USER text, so image::ResolveImageUser reads CRI and image users
// alike: run_as_user / run_as_username, with run_as_group; else the image's User, whose
// group run_as_group alone replaces (as CRI-O does).
struct UserRequest {
  std::string text;
  std::string field;  // what named it, for errors
};

Result<UserRequest> RequestedUser(const v1::LinuxContainerSecurityContext& sc,
                                  const image::ImageConfig& image) {
  const std::string base = kSecurityContext;
  UserRequest r;
  if (sc.has_run_as_user()) {
    r.field = base + ".run_as_user";
    r.text = std::to_string(BERTH_TRY(Id(sc.run_as_user().value(), r.field)));
  } else if (!sc.run_as_username().empty()) {
    r.field = base + ".run_as_username";
    if (sc.run_as_username().find(':') != std::string::npos)
      return InvalidField(r.field, "\"" + sc.run_as_username() + "\" must be a name, without ':'");
    r.text = sc.run_as_username();
  } else {
    r.field = "the image's User";
    r.text = image.user;
  }
  if (sc.has_run_as_group()) {
    std::string gfield = base + ".run_as_group";
    uint32_t gid = BERTH_TRY(Id(sc.run_as_group().value(), gfield));
    r.text = r.text.substr(0, r.text.find(':'));
    if (r.text.empty()) r.text = "0";
    r.text += ":" + std::to_string(gid);
    if (!sc.has_run_as_user() && sc.run_as_username().empty()) r.field += " with " + gfield;
  }
  return r;
}

Result<std::string> SetUser(spec::Process& p, const v1::ContainerConfig& config,
                            const image::ImageConfig& image, const ContainerInputs& container) {
  const auto& sc = config.linux().security_context();
  UserRequest req = BERTH_TRY(RequestedUser(sc, image));
  auto user = image::ResolveImageUser(container.rootfs, req.text);
  if (!user) {
    Error e = std::move(user.error());
    e.Wrap(req.field);
    return std::unexpected(std::move(e));
  }
  p.user.uid = user->user.uid;
  p.user.gid = user->user.gid;
  // The primary gid is listed too (containerd since CVE-2023-25173): a process that drops
  // it with setgid/newgrp must not escape a group-denying permission such as 0707.
  std::vector<uint32_t> gids = {user->user.gid};
  if (sc.supplemental_groups_policy() == v1::Merge)
    gids.insert(gids.end(), user->user.additional_gids.begin(), user->user.additional_gids.end());
  for (int i = 0; i < sc.supplemental_groups_size(); ++i)
    gids.push_back(BERTH_TRY(Id(sc.supplemental_groups(i),
                                internal::Field(std::string(kSecurityContext) +
                                                    ".supplemental_groups", i))));
  p.user.additional_gids.clear();
  for (uint32_t g : gids)
    if (std::find(p.user.additional_gids.begin(), p.user.additional_gids.end(), g) ==
        p.user.additional_gids.end())
      p.user.additional_gids.push_back(g);
  return user->home;
}

Result<void> SetEnvAndCwd(spec::Process& p, const v1::ContainerConfig& config,
                          const image::ImageConfig& image, const SandboxInputs& pod,
                          const std::string& home) {
  p.env.clear();
  if (!HasEnv(image.env, "PATH")) p.env.emplace_back(kDefaultPath);
  // Before the image's and the request's, which may set it again (as containerd).
  if (!pod.hostname.empty()) p.env.push_back("HOSTNAME=" + pod.hostname);
  for (const std::string& kv : image.env) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return InvalidField("image config Env", "\"" + kv + "\" is not KEY=VALUE");
    SetEnv(p.env, kv);
  }
  for (int i = 0; i < config.envs_size(); ++i) {
    const auto& kv = config.envs(i);
    if (kv.key().empty() || kv.key().find('=') != std::string::npos)
      return InvalidField(internal::Field("envs", i, "key"),
                          "\"" + kv.key() + "\" is not an environment variable name");
    SetEnv(p.env, kv.key() + "=" + kv.value());
  }
  if (config.tty() && !HasEnv(p.env, "TERM")) p.env.emplace_back("TERM=xterm");
  // As Docker and CRI-O: HOME from the user's passwd entry unless someone set it.
  if (!HasEnv(p.env, "HOME")) p.env.push_back("HOME=" + home);

  p.cwd = !config.working_dir().empty() ? config.working_dir()
          : !image.working_dir.empty()  ? image.working_dir
                                        : "/";
  if (p.cwd.front() != '/')
    return InvalidField(config.working_dir().empty() ? "the image's WorkingDir" : "working_dir",
                        "\"" + p.cwd + "\" is not an absolute path");
  return {};
}

Result<void> SetNamespaces(spec::Spec& s, const v1::ContainerConfig& config,
                           const SandboxInputs& pod, const ContainerInputs& container,
                           const HostFeatures& host) {
  const auto& ns = config.linux().security_context().namespace_options();
  const std::string field = std::string(kSecurityContext) + ".namespace_options";
  if (ns.has_userns_options() && ns.userns_options().mode() == v1::POD &&
      (ns.userns_options().uids_size() > 0 || ns.userns_options().gids_size() > 0))
    return Unimplemented(field + ".userns_options", {},
                         "user namespaces (pod hostUsers: false) are not supported yet");

  std::vector<spec::LinuxNamespace> out;
  switch (ns.pid()) {
    case v1::CONTAINER:
      out.push_back({"pid", ""});
      break;
    case v1::POD:
      // berthd makes the pod's PID namespace before any container when the sandbox asks.
      if (pod.pid_ns_path.empty())
        return FailedPrecondition(field + ".pid", {},
                                  "POD: the pod sandbox has no shared PID namespace (its own "
                                  "namespace_options.pid is not POD)");
      out.push_back({"pid", pod.pid_ns_path});
      break;
    case v1::NODE:
      break;
    case v1::TARGET:
      if (container.target_pid_ns_path.empty())
        return InvalidField(field + ".target_id",
                            "\"" + ns.target_id() + "\" names no running container of the pod");
      out.push_back({"pid", container.target_pid_ns_path});
      break;
    default:
      return InvalidField(field + ".pid", "unknown mode " + std::to_string(ns.pid()));
  }
  // Network, IPC and UTS belong to the pod: a path is the pod's, "" the host's.
  if (!pod.net_ns_path.empty()) out.push_back({"network", pod.net_ns_path});
  if (!pod.ipc_ns_path.empty()) out.push_back({"ipc", pod.ipc_ns_path});
  if (!pod.uts_ns_path.empty()) out.push_back({"uts", pod.uts_ns_path});
  out.push_back({"mount", ""});
  // On cgroup v2 a container sees its own cgroup as "/" (containerd and CRI-O do this).
  if (host.cgroup_v2) out.push_back({"cgroup", ""});
  s.linux->namespaces = std::move(out);
  // Setting the name needs a UTS namespace that is not the host's.
  s.hostname = pod.uts_ns_path.empty() ? "" : pod.hostname;
  s.domainname.clear();
  return {};
}

void SetAnnotations(spec::Spec& s, const v1::ContainerConfig& config,
                    const v1::PodSandboxConfig& sandbox, const image::ImageConfig& image,
                    const SandboxInputs& pod) {
  s.annotations.clear();
  if (!image.stop_signal.empty()) s.annotations[kStopSignal] = image.stop_signal;
  for (const auto& [k, v] : config.annotations()) s.annotations[k] = v;
  // Ours last: a request cannot pass itself off as another pod's or as a sandbox.
  s.annotations[kContainerType] = "container";
  s.annotations[kSandboxId] = pod.id;
  s.annotations[kSandboxName] = sandbox.metadata().name();
  s.annotations[kSandboxNamespace] = sandbox.metadata().namespace_();
  s.annotations[kSandboxUid] = sandbox.metadata().uid();
  s.annotations[kContainerName] = config.metadata().name();
  const auto& img = config.image();
  s.annotations[kImageName] =
      !img.user_specified_image().empty() ? img.user_specified_image() : img.image();
}

}  // namespace

Result<spec::Spec> BuildContainerSpec(const spec::Spec& base, const v1::ContainerConfig& config,
                                      const v1::PodSandboxConfig& sandbox,
                                      const image::ImageConfig& image,
                                      const SandboxInputs& pod, const ContainerInputs& container,
                                      const HostFeatures& host) {
  spec::Spec s = base;
  // Every handler must take the config: crun 1.8 refuses an ociVersion other than 1.0.x
  // ("unknown version specified"), and containerd 1.6 writes "1.0.2-dev" for the same
  // fields. Nothing here needs a later version of the spec.
  s.oci_version = "1.0.2";
  s.root = spec::Root{"rootfs", false};
  spec::Process& p = s.process ? *s.process : s.process.emplace();
  if (!s.linux) s.linux.emplace();

  BERTH_TRYV(SetArgs(p, config, image));
  std::string home = BERTH_TRY(SetUser(p, config, image, container));
  BERTH_TRYV(SetEnvAndCwd(p, config, image, pod, home));
  p.terminal = config.tty();
  p.console_size.reset();
  // Inherited from berthd, as a containerd container inherits containerd's limits (the
  // template's nofile 1024 would be far below what pods are used to).
  p.rlimits.clear();

  BERTH_TRYV(SetNamespaces(s, config, pod, container, host));
  SetAnnotations(s, config, sandbox, image, pod);
  BERTH_TRYV(internal::ApplySecurity(s, config, sandbox, host));
  BERTH_TRYV(internal::ApplyMounts(s, config, pod, host));
  BERTH_TRYV(internal::ApplyDevices(s, config));
  BERTH_TRYV(internal::ApplyResources(s, config, host));
  BERTH_TRYV(internal::ApplySysctls(s, sandbox, pod));
  s.linux->cgroups_path = container.cgroups_path;

  // The config alone (no host probe): a value the CRI checks above let through but the
  // runtime would refuse is reported now, with the OCI field, instead of at create.
  if (auto ok = spec::Validate(s); !ok) {
    Error e = std::move(ok.error());
    e.Wrap("the OCI config made from the CRI request");
    return std::unexpected(std::move(e));
  }
  return s;
}

}  // namespace berth::daemon
