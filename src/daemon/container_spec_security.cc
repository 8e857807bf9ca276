// LinuxContainerSecurityContext -> process capabilities, no_new_privs, LSM labels, seccomp,
// root.readonly and the masked/readonly paths. The rules follow the api.proto comments and,
// where those are silent, what containerd's CRI plugin does (kubelet is written against it).
#include <sys/stat.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "base/text.h"
#include "daemon/container_spec_internal.h"
#include "image/bundle.h"
#include "spec/names.h"
#include "spec/parse.h"
#include "spec/validate.h"
#include "sys/fs.h"

namespace berth::daemon::internal {
namespace {

using Json = nlohmann::json;

std::string Sc(const std::string& member) { return std::string(kSecurityContext) + "." + member; }

// "net_admin", "NET_ADMIN", "CAP_NET_ADMIN" -> "CAP_NET_ADMIN" (kubelet sends them without
// the prefix, crictl users often with it).
Result<std::string> CapName(const std::string& in, const std::string& field) {
  std::string up;
  for (char c : in) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (!up.starts_with("CAP_")) up = "CAP_" + up;
  if (!spec::CapabilityNumber(up))
    return InvalidField(field, "unknown capability \"" + in + "\"");
  return up;
}

bool IsAll(const std::string& name) {
  std::string up;
  for (char c : name) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return up == "ALL" || up == "CAP_ALL";
}

std::vector<std::string> HostCaps(const HostFeatures& host) {
  if (!host.capabilities.empty()) return host.capabilities;
  return {spec::kCapabilityNames.begin(), spec::kCapabilityNames.end()};
}

void Add(std::vector<std::string>& set, const std::string& cap) {
  if (std::find(set.begin(), set.end(), cap) == set.end()) set.push_back(cap);
}

void Remove(std::vector<std::string>& set, const std::string& cap) {
  set.erase(std::remove(set.begin(), set.end(), cap), set.end());
}

// Capability-number order, so the same request always gives the same config.
void Sort(std::vector<std::string>& set) {
  std::sort(set.begin(), set.end(), [](const std::string& a, const std::string& b) {
    return spec::CapabilityNumber(a).value_or(99) < spec::CapabilityNumber(b).value_or(99);
  });
}

// Capability message: "ALL" in add gives every capability berthd has, "ALL" in drop
// clears the set; then the named adds, then the named drops (containerd's order, so
// add [ALL] drop [CHOWN] is everything but CHOWN and drop [ALL] add [KILL] is KILL).
// add_capabilities fill every set but ambient (and inheritable: CVE-2022-24769);
// add_ambient_capabilities fill all five, as an ambient capability must also be
// inheritable and permitted. Drops apply to every set.
Result<spec::Capabilities> Capabilities(const v1::LinuxContainerSecurityContext& sc,
                                        const HostFeatures& host) {
  std::vector<std::string> all = HostCaps(host);
  spec::Capabilities out;
  if (sc.privileged()) {
    out.bounding = out.effective = out.permitted = all;
    Sort(out.bounding), Sort(out.effective), Sort(out.permitted);
    return out;
  }
  const auto& c = sc.capabilities();
  std::vector<std::string> main = image::DefaultCapabilities(), ambient;
  if (std::any_of(c.add_capabilities().begin(), c.add_capabilities().end(), IsAll)) main = all;
  if (std::any_of(c.drop_capabilities().begin(), c.drop_capabilities().end(), IsAll))
    main.clear();
  auto held = [&](const std::string& cap, const std::string& field) -> Result<void> {
    if (host.capabilities.empty() ||
        std::find(all.begin(), all.end(), cap) != all.end())
      return {};
    return InvalidField(field, cap + " cannot be granted: berthd does not hold it (not in its "
                                     "bounding set)");
  };
  for (int i = 0; i < c.add_capabilities_size(); ++i) {
    if (IsAll(c.add_capabilities(i))) continue;
    std::string field = Field(Sc("capabilities.add_capabilities"), i);
    std::string cap = BERTH_TRY(CapName(c.add_capabilities(i), field));
    BERTH_TRYV(held(cap, field));
    Add(main, cap);
  }
  for (int i = 0; i < c.add_ambient_capabilities_size(); ++i) {
    std::string field = Field(Sc("capabilities.add_ambient_capabilities"), i);
    if (IsAll(c.add_ambient_capabilities(i)))
      return InvalidField(field, "\"ALL\" is not allowed for ambient capabilities");
    std::string cap = BERTH_TRY(CapName(c.add_ambient_capabilities(i), field));
    BERTH_TRYV(held(cap, field));
    Add(main, cap);
    Add(ambient, cap);
  }
  for (int i = 0; i < c.drop_capabilities_size(); ++i) {
    if (IsAll(c.drop_capabilities(i))) continue;
    std::string cap = BERTH_TRY(CapName(c.drop_capabilities(i),
                                        Field(Sc("capabilities.drop_capabilities"), i)));
    Remove(main, cap);
    Remove(ambient, cap);
  }
  Sort(main), Sort(ambient);
  out.bounding = out.effective = out.permitted = main;
  out.inheritable = out.ambient = ambient;
  return out;
}

// The deprecated string fields, still sent by older kubelets (and crictl files).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
const std::string& SeccompPath(const v1::LinuxContainerSecurityContext& sc) {
  return sc.seccomp_profile_path();
}
const std::string& AppArmorString(const v1::LinuxContainerSecurityContext& sc) {
  return sc.apparmor_profile();
}
#pragma GCC diagnostic pop

// Which profile a SecurityProfile or its deprecated string form names.
enum class Profile { kDefault, kUnconfined, kLocalhost };
struct ProfileChoice {
  Profile kind = Profile::kUnconfined;
  std::string ref;    // the Localhost file (seccomp) or profile name (AppArmor)
  std::string field;  // the CRI field it came from
};

Result<ProfileChoice> FromSecurityProfile(const v1::SecurityProfile& sp, const std::string& field) {
  switch (sp.profile_type()) {
    case v1::SecurityProfile::RuntimeDefault:
      return ProfileChoice{Profile::kDefault, "", field};
    case v1::SecurityProfile::Unconfined:
      return ProfileChoice{Profile::kUnconfined, "", field};
    case v1::SecurityProfile::Localhost:
      if (sp.localhost_ref().empty())
        return InvalidField(field + ".localhost_ref", "empty: Localhost needs a profile");
      return ProfileChoice{Profile::kLocalhost, sp.localhost_ref(), field + ".localhost_ref"};
    default:
      return InvalidField(field + ".profile_type",
                          "unknown profile type " + std::to_string(sp.profile_type()));
  }
}

// The deprecated strings: "runtime/default", "docker/default" (seccomp), "unconfined",
// "localhost/<ref>"; `empty` is what "" means for this field.
Result<ProfileChoice> FromProfileString(const std::string& s, const std::string& field,
                                        Profile empty, bool docker_default) {
  if (s.empty()) return ProfileChoice{empty, "", field};
  if (s == "runtime/default" || (docker_default && s == "docker/default"))
    return ProfileChoice{Profile::kDefault, "", field};
  if (s == "unconfined") return ProfileChoice{Profile::kUnconfined, "", field};
  if (s.starts_with("localhost/") && s.size() > 10)
    return ProfileChoice{Profile::kLocalhost, s.substr(10), field};
  return InvalidField(field, "\"" + s +
                                 "\" is none of runtime/default, unconfined, localhost/<profile>");
}

Result<void> ApplySeccomp(spec::Spec& s, const v1::LinuxContainerSecurityContext& sc,
                          const HostFeatures& host) {
  s.linux->seccomp.reset();
  // Privileged containers always run unconfined (Kubernetes' documented rule).
  if (sc.privileged()) return {};
  ProfileChoice c =
      sc.has_seccomp()
          ? BERTH_TRY(FromSecurityProfile(sc.seccomp(), Sc("seccomp")))
          // "" is unconfined: kubelet sets `seccomp` whenever the pod asks for a profile.
          : BERTH_TRY(FromProfileString(SeccompPath(sc), Sc("seccomp_profile_path"),
                                        Profile::kUnconfined, true));
  if (c.kind == Profile::kUnconfined) return {};
  if (!host.seccomp) {
    // As for the LSMs: the default cannot apply and is accepted, a named profile is refused.
    if (c.kind == Profile::kDefault) return {};
    return InvalidField(c.field, "this kernel has no seccomp filter support; profile \"" +
                                     c.ref + "\" cannot be applied");
  }
  const auto& caps = s.process->capabilities->bounding;
  if (c.kind == Profile::kDefault) {
    s.linux->seccomp = DefaultSeccompProfile(caps);
    return {};
  }
  if (c.ref.front() != '/')
    return InvalidField(c.field, "\"" + c.ref + "\" is not an absolute path to a profile file");
  s.linux->seccomp = BERTH_TRY(LoadSeccompProfile(c.ref, c.field, caps));
  return {};
}

Result<void> ApplyAppArmor(spec::Process& p, const v1::LinuxContainerSecurityContext& sc,
                           const HostFeatures& host) {
  p.apparmor_profile.clear();
  // "" is the runtime default here (containerd, after kubernetes#51746): unset means
  // "as the runtime confines by default", not unconfined.
  ProfileChoice c =
      sc.has_apparmor()
          ? BERTH_TRY(FromSecurityProfile(sc.apparmor(), Sc("apparmor")))
          : BERTH_TRY(FromProfileString(AppArmorString(sc), Sc("apparmor_profile"),
                                        Profile::kDefault, false));
  if (!host.apparmor) {
    if (c.kind != Profile::kLocalhost) return {};
    return InvalidField(c.field, "AppArmor is not enabled on this host; profile \"" + c.ref +
                                     "\" cannot be applied");
  }
  if (c.kind == Profile::kLocalhost) {
    p.apparmor_profile = c.ref;
  } else if (c.kind == Profile::kDefault && !sc.privileged()) {
    p.apparmor_profile = host.apparmor_default_profile;
  }
  return {};
}

// Labels only where SELinux is on; elsewhere the options mean nothing and are ignored, as
// containerd does. Unset parts take the container policy's usual names.
void ApplySelinux(spec::Spec& s, const v1::LinuxContainerSecurityContext& sc,
                  const v1::PodSandboxConfig& sandbox, const HostFeatures& host) {
  s.process->selinux_label.clear();
  s.linux->mount_label.clear();
  if (!host.selinux || sc.privileged()) return;
  auto set = [](const v1::SELinuxOption& o) {
    return !o.user().empty() || !o.role().empty() || !o.type().empty() || !o.level().empty();
  };
  const v1::SELinuxOption& o = set(sc.selinux_options())
                                   ? sc.selinux_options()
                                   : sandbox.linux().security_context().selinux_options();
  if (!set(o)) return;
  auto part = [](const std::string& v, const char* dflt) { return v.empty() ? dflt : v; };
  std::string level = o.level().empty() ? "" : ":" + o.level();
  s.process->selinux_label = part(o.user(), "system_u") + ":" + part(o.role(), "system_r") + ":" +
                             part(o.type(), "container_t") + level;
  s.linux->mount_label = part(o.user(), "system_u") + ":object_r:container_file_t" + level;
}

// --- Localhost seccomp profiles ---

// Docker's names (Go's GOARCH) and libseccomp's of the architecture we run on.
#if defined(__x86_64__)
constexpr const char* kGoArch = "amd64";
constexpr const char* kScmpArch = "SCMP_ARCH_X86_64";
#elif defined(__aarch64__)
constexpr const char* kGoArch = "arm64";
constexpr const char* kScmpArch = "SCMP_ARCH_AARCH64";
#else
constexpr const char* kGoArch = "";
constexpr const char* kScmpArch = "";
#endif

// "5.8" <= the running kernel's release.
bool KernelAtLeast(const std::string& want) {
  struct utsname u {};
  if (uname(&u) != 0) return true;
  int have_major = 0, have_minor = 0, want_major = 0, want_minor = 0;
  std::sscanf(u.release, "%d.%d", &have_major, &have_minor);
  if (std::sscanf(want.c_str(), "%d.%d", &want_major, &want_minor) < 1) return true;
  return have_major > want_major || (have_major == want_major && have_minor >= want_minor);
}

bool HasAll(const Json& list, const std::vector<std::string>& have) {
  for (const auto& v : list)
    if (!v.is_string() || std::find(have.begin(), have.end(), v.get<std::string>()) == have.end())
      return false;
  return true;
}

bool HasAny(const Json& list, const std::vector<std::string>& have) {
  for (const auto& v : list)
    if (v.is_string() && std::find(have.begin(), have.end(), v.get<std::string>()) != have.end())
      return true;
  return false;
}

// Docker's includes/excludes: a rule applies when the process has every included
// capability, runs on an included arch and a new enough kernel, and matches no exclusion.
bool RuleApplies(const Json& rule, const std::vector<std::string>& caps) {
  const std::vector<std::string> arch = {kGoArch};
  if (auto in = rule.find("includes"); in != rule.end() && in->is_object()) {
    if (auto c = in->find("caps"); c != in->end() && c->is_array() && !HasAll(*c, caps))
      return false;
    if (auto a = in->find("arches"); a != in->end() && a->is_array() && !a->empty() &&
                                     !HasAny(*a, arch))
      return false;
    if (auto k = in->find("minKernel"); k != in->end() && k->is_string() &&
                                        !KernelAtLeast(k->get<std::string>()))
      return false;
  }
  if (auto ex = rule.find("excludes"); ex != rule.end() && ex->is_object()) {
    if (auto c = ex->find("caps"); c != ex->end() && c->is_array() && HasAny(*c, caps))
      return false;
    if (auto a = ex->find("arches"); a != ex->end() && a->is_array() && HasAny(*a, arch))
      return false;
  }
  return true;
}

}  // namespace

// Docker's default profile is ~25 KiB; 1 MiB is room for any real one.
constexpr off_t kMaxSeccompProfile = 1 << 20;

Result<spec::Seccomp> LoadSeccompProfile(const std::string& path, const std::string& field,
                                         const std::vector<std::string>& caps) {
  const std::string shown = QuoteText(path);
  // The path comes from the request: only a regular file of a profile's size is read
  // (a FIFO would block CreateContainer, /dev/zero would never end).
  struct stat st;
  if (stat(path.c_str(), &st) < 0) {
    if (errno == ENOENT)
      return InvalidField(field, "seccomp profile " + shown + " does not exist");
    return std::unexpected(Errno("stat", shown).error().Wrap(field));
  }
  if (!S_ISREG(st.st_mode))
    return InvalidField(field, "seccomp profile " + shown + " is not a regular file");
  if (st.st_size > kMaxSeccompProfile)
    return InvalidField(field, "seccomp profile " + shown + " is " + std::to_string(st.st_size) +
                                   " bytes, more than a profile's " +
                                   std::to_string(kMaxSeccompProfile));
  auto text = sys::ReadFile(path);
  if (!text) {
    if (text.error().code == ENOENT)
      return InvalidField(field, "seccomp profile " + shown + " does not exist");
    Error e = std::move(text.error());
    e.Wrap(field);
    return std::unexpected(std::move(e));
  }
  Json doc = Json::parse(*text, nullptr, false);
  if (doc.is_discarded())
    return InvalidField(field, "seccomp profile " + shown + " is not JSON");
  if (!doc.is_object() || !doc.contains("defaultAction"))
    return InvalidField(field, "seccomp profile " + shown +
                                   " has no defaultAction: neither an OCI linux.seccomp "
                                   "object nor a Docker seccomp profile");

  // Rewrite a Docker profile as the OCI object, then let the config.json decoder check it.
  Json out = Json::object();
  for (const char* key : {"defaultAction", "defaultErrnoRet", "architectures", "flags",
                          "listenerPath", "listenerMetadata"})
    if (doc.contains(key)) out[key] = doc[key];
  if (!doc.contains("architectures") && doc.contains("archMap") && doc["archMap"].is_array()) {
    for (const auto& m : doc["archMap"]) {
      auto arch = m.find("architecture");  // m.value() would throw for a non-string
      if (arch == m.end() || !arch->is_string() || *arch != kScmpArch) continue;
      Json archs = Json::array({kScmpArch});
      if (m.contains("subArchitectures") && m["subArchitectures"].is_array())
        for (const auto& a : m["subArchitectures"]) archs.push_back(a);
      out["architectures"] = archs;
    }
  }
  if (doc.contains("syscalls")) {
    if (!doc["syscalls"].is_array())
      return InvalidField(field, "seccomp profile " + shown + ": syscalls is not an array");
    Json rules = Json::array();
    for (const auto& r : doc["syscalls"]) {
      if (!r.is_object() || !RuleApplies(r, caps)) continue;
      Json rule = Json::object();
      if (r.contains("names"))
        rule["names"] = r["names"];
      else if (r.contains("name"))
        rule["names"] = Json::array({r["name"]});
      for (const char* key : {"action", "errnoRet", "args"})
        if (r.contains(key)) rule[key] = r[key];
      rules.push_back(std::move(rule));
    }
    out["syscalls"] = std::move(rules);
  }
  // A spec holding only the section (and the root every spec needs), so the decoder and
  // the validator name the profile's own fields: `linux.seccomp.defaultAction: ...`.
  Json wrapped = {{"ociVersion", spec::kOciVersion},
                  {"root", {{"path", "rootfs"}}},
                  {"linux", {{"seccomp", out}}}};
  std::string origin = "seccomp profile \"" + path + "\"";
  auto parsed = spec::ParseSpec(wrapped.dump(), origin);
  Result<void> valid = parsed ? spec::Validate(*parsed) : Result<void>();
  if (!parsed || !valid) {
    Error e = !parsed ? std::move(parsed.error()) : std::move(valid.error());
    if (parsed) e.Wrap(origin);
    e.Wrap(field);
    e.WithKind(ErrorKind::kInvalidArgument);
    return std::unexpected(std::move(e));
  }
  return std::move(*parsed->linux->seccomp);
}

Result<void> ApplySecurity(spec::Spec& s, const v1::ContainerConfig& config,
                           const v1::PodSandboxConfig& sandbox, const HostFeatures& host) {
  const auto& sc = config.linux().security_context();
  spec::Process& p = *s.process;
  if (sc.privileged() && !sandbox.linux().security_context().privileged())
    return InvalidField(Sc("privileged"), "the pod sandbox is not privileged, so none of its "
                                          "containers may be");
  p.capabilities = BERTH_TRY(Capabilities(sc, host));
  // Privileged means no_new_privs off: setuid tools (su, mount) must work there.
  p.no_new_privileges = !sc.privileged() && sc.no_new_privs();
  s.root->readonly = sc.readonly_rootfs();

  // An empty list keeps the runtime's defaults: kubelet sends the default lists itself,
  // and proto3 cannot tell an empty list from an absent one.
  if (sc.privileged()) {
    s.linux->masked_paths.clear();
    s.linux->readonly_paths.clear();
  } else {
    if (sc.masked_paths_size() > 0)
      s.linux->masked_paths.assign(sc.masked_paths().begin(), sc.masked_paths().end());
    if (sc.readonly_paths_size() > 0)
      s.linux->readonly_paths.assign(sc.readonly_paths().begin(), sc.readonly_paths().end());
  }
  for (int i = 0; i < sc.masked_paths_size(); ++i)
    if (sc.masked_paths(i).empty() || sc.masked_paths(i).front() != '/')
      return InvalidField(Field(Sc("masked_paths"), i), "\"" + sc.masked_paths(i) +
                                                            "\" is not an absolute path");
  for (int i = 0; i < sc.readonly_paths_size(); ++i)
    if (sc.readonly_paths(i).empty() || sc.readonly_paths(i).front() != '/')
      return InvalidField(Field(Sc("readonly_paths"), i), "\"" + sc.readonly_paths(i) +
                                                              "\" is not an absolute path");

  BERTH_TRYV(ApplySeccomp(s, sc, host));
  BERTH_TRYV(ApplyAppArmor(p, sc, host));
  ApplySelinux(s, sc, sandbox, host);
  return {};
}

}  // namespace berth::daemon::internal
