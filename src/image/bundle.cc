// config.json for a container made from an image, with Docker's rules for combining the
// image config with the user's options (docker run reference: ENTRYPOINT/CMD, ENV, USER).
#include "image/bundle.h"

#include <algorithm>

#include "image/image_user.h"
#include "spec/default_spec.h"
#include "spec/parse.h"
#include "sys/fs.h"

namespace berth::image {
namespace {

constexpr std::string_view kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr std::string_view kStopSignalAnnotation = "org.opencontainers.image.stopSignal";

std::string_view EnvKey(std::string_view kv) { return kv.substr(0, kv.find('=')); }

// Sets kv in env, replacing an entry with the same key in place.
void SetEnv(std::vector<std::string>& env, const std::string& kv) {
  std::string_view key = EnvKey(kv);
  for (std::string& e : env) {
    if (EnvKey(e) == key) {
      e = kv;
      return;
    }
  }
  env.push_back(kv);
}

bool HasEnv(const std::vector<std::string>& env, std::string_view key) {
  return std::any_of(env.begin(), env.end(),
                     [&](const std::string& e) { return EnvKey(e) == key; });
}

}  // namespace

const std::vector<std::string>& DefaultCapabilities() {
  // runc's `spec` template grants only three, which breaks images whose entrypoint drops
  // privileges (e.g. nginx).
  static const std::vector<std::string> caps = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE"};
  return caps;
}

Result<void> WriteBundleConfig(const std::string& bundle, const ImageConfig& config,
                               const BundleOptions& opts) {
  auto spec = spec::ParseSpec(spec::DefaultSpecJson(false), "default spec");
  if (!spec) return std::unexpected(spec.error());
  spec::Process& p = spec->process.value();

  // docker run: --entrypoint replaces ENTRYPOINT and drops CMD; arguments replace CMD.
  const auto& entrypoint = opts.entrypoint.empty() ? config.entrypoint : opts.entrypoint;
  const auto& cmd = !opts.args.empty()         ? opts.args
                    : !opts.entrypoint.empty() ? std::vector<std::string>{}
                                               : config.cmd;
  p.args = entrypoint;
  p.args.insert(p.args.end(), cmd.begin(), cmd.end());
  if (p.args.empty()) return Fail("bundle", bundle, "image has no command: give one");

  std::string user_text = opts.user.empty() ? config.user : opts.user;
  ImageUser user = BERTH_TRY(ResolveImageUser(bundle + "/rootfs", user_text));
  p.user = user.user;

  // Checked here, where we can still say whose entry it is; the runtime would only
  // name process.env[i].
  auto bad_env = [](const std::string& kv) {
    size_t eq = kv.find('=');
    return eq == std::string::npos || eq == 0;
  };
  for (const std::string& kv : config.env)
    if (bad_env(kv))
      return Fail("bundle", bundle, "image Env entry \"" + kv + "\" is not KEY=VALUE");
  for (const std::string& kv : opts.env)
    if (bad_env(kv)) return Fail("bundle", bundle, "env \"" + kv + "\" is not KEY=VALUE");
  p.env.clear();
  if (!HasEnv(config.env, "PATH")) p.env.emplace_back(kDefaultPath);
  for (const std::string& kv : config.env) SetEnv(p.env, kv);
  for (const std::string& kv : opts.env) SetEnv(p.env, kv);
  // As docker run: a terminal gets TERM, and HOME comes from the user's passwd entry.
  if (opts.terminal && !HasEnv(p.env, "TERM")) p.env.emplace_back("TERM=xterm");
  if (!HasEnv(p.env, "HOME")) p.env.push_back("HOME=" + user.home);

  p.cwd = !opts.working_dir.empty()     ? opts.working_dir
          : !config.working_dir.empty() ? config.working_dir
                                        : "/";
  if (p.cwd.front() != '/')
    return Fail("bundle", bundle, "working directory \"" + p.cwd + "\" is not an absolute path");
  p.terminal = opts.terminal;

  spec::Capabilities& caps = p.capabilities.emplace();
  caps.bounding = caps.effective = caps.permitted = DefaultCapabilities();
  // No ambient or inheritable set: a non-root user gets no capabilities across execve,
  // as in Docker (CVE-2022-24769).

  // Empty: the new UTS namespace keeps a copy of the host's name, as with `ctr run`.
  spec->hostname = opts.hostname;
  spec->root = spec::Root{"rootfs", opts.readonly_rootfs};
  if (!config.stop_signal.empty())
    spec->annotations[std::string(kStopSignalAnnotation)] = config.stop_signal;

  return sys::WriteFileAtomic(bundle + "/config.json", spec::ToJson(*spec), 0644);
}

}  // namespace berth::image
