// linux.seccomp: compiled with libseccomp in the parent and exported as classic BPF, so
// the child only needs one seccomp(2) call (no libseccomp state crosses the fork).
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "base/unique_fd.h"
#include "runtime/process_setup.h"
#include "runtime/process_setup_internal.h"

namespace berth::runtime {
namespace {

template <class T>
struct Named {
  std::string_view name;
  T value;
};

// Actions without an errno; SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one and are handled
// apart.
constexpr std::array<Named<uint32_t>, 7> kPlainActions = {{
    {"SCMP_ACT_KILL", SCMP_ACT_KILL},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG},
    {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY},
}};

constexpr std::array<Named<uint32_t>, 19> kArchs = {{
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
}};

constexpr std::array<Named<unsigned int>, 4> kFlags = {{
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
}};

constexpr std::array<Named<scmp_compare>, 7> kOps = {{
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
}};

template <class T, size_t N>
const T* Find(const std::array<Named<T>, N>& table, const std::string& name) {
  for (const auto& e : table)
    if (e.name == name) return &e.value;
  return nullptr;
}

template <class T, size_t N>
std::vector<std::string> Names(const std::array<Named<T>, N>& table) {
  std::vector<std::string> out;
  for (const auto& e : table) out.emplace_back(e.name);
  return out;
}

// Action name + optional errnoRet -> libseccomp action. Per config-linux.md an errnoRet
// on an action that carries no errno MUST be an error; an absent one means EPERM.
Result<uint32_t> ResolveAction(const std::string& name, std::optional<uint32_t> errno_ret,
                               const std::string& field, const std::string& errno_field) {
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(errno_ret.value_or(EPERM));
  const uint32_t* a = Find(kPlainActions, name);
  if (!a) return InvalidField(field, "unknown seccomp action \"" + name + "\"");
  if (errno_ret)
    return InvalidField(errno_field,
                "only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not " + name);
  return *a;
}

struct Ctx {
  scmp_filter_ctx ctx = nullptr;
  ~Ctx() {
    if (ctx) seccomp_release(ctx);
  }
};

// libseccomp returns -errno.
std::unexpected<Error> LibFail(int rc, const char* op, const std::string& subject,
                               std::string detail = {}) {
  return ErrnoCode(-rc, op, subject, std::move(detail));
}

Result<std::vector<sock_filter>> ExportBpf(scmp_filter_ctx ctx) {
  // seccomp_export_bpf only writes to an fd; a memfd keeps the program off the disk.
  UniqueFd fd(memfd_create("berth-seccomp", MFD_CLOEXEC));
  if (!fd) return Errno("memfd_create", "seccomp export");
  if (int rc = seccomp_export_bpf(ctx, fd.Get()); rc < 0)
    return LibFail(rc, "seccomp_export_bpf", "linux.seccomp");
  struct stat st {};
  if (fstat(fd.Get(), &st) != 0) return Errno("fstat", "seccomp export memfd");
  if (st.st_size <= 0 || st.st_size % sizeof(sock_filter) != 0)
    return Fail("seccomp_export_bpf", "linux.seccomp",
                "exported " + std::to_string(st.st_size) + " bytes, not a whole BPF program");
  std::vector<sock_filter> prog(st.st_size / sizeof(sock_filter));
  size_t want = st.st_size, got = 0;
  auto* buf = reinterpret_cast<char*>(prog.data());
  while (got < want) {
    ssize_t n = pread(fd.Get(), buf + got, want - got, got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("read", "seccomp export memfd");
    got += n;
  }
  if (prog.size() > BPF_MAXINSNS)
    return InvalidField("linux.seccomp",
                "the compiled filter has " + std::to_string(prog.size()) +
                    " instructions, more than the kernel's limit of " +
                    std::to_string(BPF_MAXINSNS));
  return prog;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char esc[8];
          std::snprintf(esc, sizeof esc, "\\u%04x", c);
          out += esc;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace

std::vector<std::string> SeccompActions() {
  std::vector<std::string> out = Names(kPlainActions);
  out.emplace_back("SCMP_ACT_ERRNO");
  out.emplace_back("SCMP_ACT_TRACE");
  return out;
}
std::vector<std::string> SeccompArchs() { return Names(kArchs); }
std::vector<std::string> SeccompFlags() { return Names(kFlags); }
std::vector<std::string> SeccompOperators() { return Names(kOps); }

namespace internal {

Result<PreparedSeccomp> CompileSeccomp(const spec::Seccomp& sc) {
  PreparedSeccomp out;
  out.present = true;
  out.listener_path = sc.listener_path;
  out.listener_metadata = sc.listener_metadata;

  uint32_t def =
      BERTH_TRY(ResolveAction(sc.default_action, sc.default_errno_ret,
                              "linux.seccomp.defaultAction", "linux.seccomp.defaultErrnoRet"));
  // With NOTIFY as the default, the runtime's own calls between the install and execve
  // (handing the listener fd over) would wait on an agent that does not have it yet.
  if (def == SCMP_ACT_NOTIFY)
    return InvalidField("linux.seccomp.defaultAction",
                "SCMP_ACT_NOTIFY cannot be the default action (the runtime could not pass the "
                "listener on)");

  for (size_t i = 0; i < sc.flags.size(); ++i) {
    const unsigned int* f = Find(kFlags, sc.flags[i]);
    if (!f)
      return InvalidField("linux.seccomp.flags[" + std::to_string(i) + "]",
                  "unknown seccomp flag \"" + sc.flags[i] + "\"");
    out.flags |= *f;
  }

  Ctx c;
  c.ctx = seccomp_init(def);
  if (!c.ctx)
    return Fail("seccomp_init", "linux.seccomp.defaultAction",
                sc.default_action + " is not supported by this kernel or libseccomp");
  // The runtime sets no_new_privs itself from process.noNewPrivileges; libseccomp's
  // default would force it on at load (we never load through libseccomp, but keep the
  // exported program and the attribute consistent).
  if (int rc = seccomp_attr_set(c.ctx, SCMP_FLTATR_CTL_NNP, 0); rc < 0)
    return LibFail(rc, "seccomp_attr_set(CTL_NNP)", "linux.seccomp");

  for (size_t i = 0; i < sc.architectures.size(); ++i) {
    const uint32_t* a = Find(kArchs, sc.architectures[i]);
    std::string field = "linux.seccomp.architectures[" + std::to_string(i) + "]";
    if (!a) return InvalidField(field, "unknown seccomp architecture \"" + sc.architectures[i] + "\"");
    // The native architecture is always in a new filter: EEXIST is expected.
    if (int rc = seccomp_arch_add(c.ctx, *a); rc < 0 && rc != -EEXIST)
      return LibFail(rc, "seccomp_arch_add", field, sc.architectures[i]);
  }

  for (size_t i = 0; i < sc.syscalls.size(); ++i) {
    const auto& s = sc.syscalls[i];
    std::string field = "linux.seccomp.syscalls[" + std::to_string(i) + "]";
    if (s.names.empty()) return InvalidField(field + ".names", "must name at least one syscall");
    uint32_t act =
        BERTH_TRY(ResolveAction(s.action, s.errno_ret, field + ".action", field + ".errnoRet"));
    if (act == SCMP_ACT_NOTIFY) out.wants_listener = true;

    std::vector<scmp_arg_cmp> cmps;
    bool same_index = false;
    for (size_t j = 0; j < s.args.size(); ++j) {
      const auto& a = s.args[j];
      std::string afield = field + ".args[" + std::to_string(j) + "]";
      const scmp_compare* op = Find(kOps, a.op);
      if (!op) return InvalidField(afield + ".op", "unknown seccomp operator \"" + a.op + "\"");
      if (a.index > 5) return InvalidField(afield + ".index", "a syscall has only 6 arguments (0-5)");
      for (const auto& prev : cmps)
        if (prev.arg == a.index) same_index = true;
      // MASKED_EQ: `value` is the mask and `valueTwo` the expected result, the order of
      // libseccomp's SCMP_CMP_MASKED_EQ datums.
      cmps.push_back(scmp_arg_cmp{a.index, *op, a.value, a.value_two});
    }
    // Same action as the default: the rule changes nothing and libseccomp refuses it.
    if (act == def) continue;

    for (const auto& name : s.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      // A name this libseccomp does not know (a newer syscall, or another arch's) is
      // skipped: profiles list syscalls for every kernel they may meet.
      if (nr == __NR_SCMP_ERROR) continue;
      // Conditions on distinct arguments form one rule (all must match). libseccomp cannot
      // AND two conditions on the same argument, so those become one rule per condition
      // (any may match) — the reading existing profiles (e.g. Docker's) are written for.
      if (!same_index) {
        if (int rc = seccomp_rule_add_array(c.ctx, act, nr, cmps.size(), cmps.data()); rc < 0)
          return LibFail(rc, "seccomp_rule_add", field, "syscall \"" + name + "\"");
      } else {
        for (const auto& cmp : cmps)
          if (int rc = seccomp_rule_add_array(c.ctx, act, nr, 1, &cmp); rc < 0)
            return LibFail(rc, "seccomp_rule_add", field, "syscall \"" + name + "\"");
      }
    }
  }

  if (out.wants_listener) {
    if (sc.listener_path.empty())
      return InvalidField("linux.seccomp.listenerPath",
                  "required when a rule uses SCMP_ACT_NOTIFY (the agent's unix socket)");
    out.flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    // TSYNC and NEW_LISTENER both want the return value; TSYNC_ESRCH lets them coexist.
    if (out.flags & SECCOMP_FILTER_FLAG_TSYNC) out.flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  }
  if (!sc.listener_metadata.empty() && sc.listener_path.empty())
    return InvalidField("linux.seccomp.listenerMetadata", "must not be set without listenerPath");

  out.program = BERTH_TRY(ExportBpf(c.ctx));
  return out;
}

Result<int> InstallSeccomp(const PreparedSeccomp& s) {
  sock_fprog prog{static_cast<unsigned short>(s.program.size()),
                  const_cast<sock_filter*>(s.program.data())};
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, s.flags, &prog);
  if (rc < 0) {
    if (errno == EACCES)
      return Errno("seccomp(SECCOMP_SET_MODE_FILTER)", "linux.seccomp",
                   "installing a filter needs no_new_privs or CAP_SYS_ADMIN");
    return Errno("seccomp(SECCOMP_SET_MODE_FILTER)", "linux.seccomp",
                 "the kernel refused the filter or its flags");
  }
  return (s.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) ? static_cast<int>(rc) : -1;
}

}  // namespace internal

std::string SeccompProcessStateJson(const std::string& state_json, int pid,
                                    const std::string& metadata) {
  std::string out = "{\"ociVersion\":";
  out += JsonString(spec::kOciVersion);
  out += ",\"fds\":[\"seccompFd\"],\"pid\":";
  out += std::to_string(pid);
  if (!metadata.empty()) {
    out += ",\"metadata\":";
    out += JsonString(metadata);
  }
  out += ",\"state\":";
  out += state_json;
  out += "}";
  return out;
}

}  // namespace berth::runtime
