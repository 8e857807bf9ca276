// cgroup v2 device control: a BPF_PROG_TYPE_CGROUP_DEVICE program built from the
// spec's rule list. v2 has no devices.allow/deny files; the kernel asks the
// program attached to the cgroup (and its ancestors) for every open/mknod.
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "base/unique_fd.h"
#include "cgroups/devices.h"

namespace berth::cgroups {

namespace {

// Register roles in the program.
constexpr uint8_t kCtx = 1, kType = 3, kAccess = 4, kMajor = 5, kMinor = 6, kTmp = 7;

struct bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  struct bpf_insn i;
  std::memset(&i, 0, sizeof i);
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}
struct bpf_insn LoadW(uint8_t dst, uint8_t src, int16_t off) {
  return Insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0);
}
struct bpf_insn Mov32Reg(uint8_t dst, uint8_t src) {
  return Insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
}
struct bpf_insn Alu32Imm(uint8_t op, uint8_t dst, int32_t imm) {
  return Insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
struct bpf_insn Mov64Imm(uint8_t dst, int32_t imm) {
  return Insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
struct bpf_insn JmpImm(uint8_t op, uint8_t dst, int32_t imm) {
  return Insn(BPF_JMP | op | BPF_K, dst, 0, 0 /* patched */, imm);
}
struct bpf_insn Exit() {
  return Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

long Bpf(int cmd, union bpf_attr* attr) { return ::syscall(__NR_bpf, cmd, attr, sizeof(*attr)); }

}  // namespace

std::vector<struct bpf_insn> BuildDeviceProgram(const std::vector<DeviceRule>& rules) {
  std::vector<struct bpf_insn> p;
  // struct bpf_cgroup_dev_ctx { u32 access_type /* access << 16 | type */; u32 major, minor; }
  p.push_back(LoadW(2, kCtx, 0));
  p.push_back(Mov32Reg(kType, 2));
  p.push_back(Alu32Imm(BPF_AND, kType, 0xffff));
  p.push_back(Mov32Reg(kAccess, 2));
  p.push_back(Alu32Imm(BPF_RSH, kAccess, 16));
  p.push_back(LoadW(kMajor, kCtx, 4));
  p.push_back(LoadW(kMinor, kCtx, 8));

  // Walk the rules from last to first; kAccess holds the requested bits not yet
  // decided. A matching deny for any undecided bit denies; allows clear bits and
  // the request is granted once none is left. Anything left at the end is denied.
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    const DeviceRule& r = *it;
    std::vector<size_t> to_end;  // jumps to the end of this rule's block
    auto jump = [&](uint8_t op, uint8_t reg, int32_t imm) {
      to_end.push_back(p.size());
      p.push_back(JmpImm(op, reg, imm));
    };
    if (r.type != 'a')
      jump(BPF_JNE, kType, r.type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
    if (r.major >= 0) jump(BPF_JNE, kMajor, static_cast<int32_t>(r.major));
    if (r.minor >= 0) jump(BPF_JNE, kMinor, static_cast<int32_t>(r.minor));
    p.push_back(Mov32Reg(kTmp, kAccess));
    p.push_back(Alu32Imm(BPF_AND, kTmp, static_cast<int32_t>(r.access)));
    jump(BPF_JEQ, kTmp, 0);  // the rule names none of the undecided bits
    if (r.allow) {
      p.push_back(Alu32Imm(BPF_AND, kAccess, static_cast<int32_t>(~r.access & kAccAll)));
      jump(BPF_JNE, kAccess, 0);
      p.push_back(Mov64Imm(0, 1));
    } else {
      p.push_back(Mov64Imm(0, 0));
    }
    p.push_back(Exit());
    for (size_t j : to_end) p[j].off = static_cast<int16_t>(p.size() - (j + 1));
  }
  p.push_back(Mov64Imm(0, 0));
  p.push_back(Exit());
  return p;
}

Result<void> ApplyDeviceProgram(const std::string& cgroup_dir,
                                const std::vector<struct bpf_insn>& prog) {
  const std::string field = "linux.resources.devices";
  UniqueFd cg(::open(cgroup_dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!cg) return Errno(field + ": open", cgroup_dir);

  // Programs attached before this update, to detach once the new one is in place.
  uint32_t old_ids[64];
  union bpf_attr q;
  std::memset(&q, 0, sizeof q);
  q.query.target_fd = static_cast<uint32_t>(cg.Get());
  q.query.attach_type = BPF_CGROUP_DEVICE;
  q.query.prog_ids = reinterpret_cast<uint64_t>(old_ids);
  q.query.prog_cnt = 64;
  if (Bpf(BPF_PROG_QUERY, &q) < 0) return Errno(field + ": bpf(BPF_PROG_QUERY)", cgroup_dir);
  uint32_t old_cnt = q.query.prog_cnt;

  std::vector<char> log(64 * 1024);
  const char license[] = "Apache-2.0";
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  a.insns = reinterpret_cast<uint64_t>(prog.data());
  a.insn_cnt = static_cast<uint32_t>(prog.size());
  a.license = reinterpret_cast<uint64_t>(license);
  std::strncpy(a.prog_name, "berth_devices", sizeof a.prog_name - 1);
  UniqueFd pfd(static_cast<int>(Bpf(BPF_PROG_LOAD, &a)));
  if (!pfd) {
    int e = errno;
    // Load again with the verifier log so the error says why.
    a.log_level = 1;
    a.log_buf = reinterpret_cast<uint64_t>(log.data());
    a.log_size = static_cast<uint32_t>(log.size());
    log[0] = 0;
    UniqueFd again(static_cast<int>(Bpf(BPF_PROG_LOAD, &a)));
    return ErrnoCode(e, field + ": bpf(BPF_PROG_LOAD)", cgroup_dir,
                     log[0] ? std::string("verifier: ") + log.data() : std::string());
  }

  union bpf_attr at;
  std::memset(&at, 0, sizeof at);
  at.target_fd = static_cast<uint32_t>(cg.Get());
  at.attach_bpf_fd = static_cast<uint32_t>(pfd.Get());
  at.attach_type = BPF_CGROUP_DEVICE;
  at.attach_flags = BPF_F_ALLOW_MULTI;
  if (Bpf(BPF_PROG_ATTACH, &at) < 0) return Errno(field + ": bpf(BPF_PROG_ATTACH)", cgroup_dir);

  for (uint32_t i = 0; i < old_cnt && i < 64; ++i) {
    union bpf_attr g;
    std::memset(&g, 0, sizeof g);
    g.prog_id = old_ids[i];
    UniqueFd ofd(static_cast<int>(Bpf(BPF_PROG_GET_FD_BY_ID, &g)));
    if (!ofd) {
      if (errno == ENOENT) continue;  // detached meanwhile
      return Errno(field + ": bpf(BPF_PROG_GET_FD_BY_ID)", cgroup_dir);
    }
    union bpf_attr d;
    std::memset(&d, 0, sizeof d);
    d.target_fd = static_cast<uint32_t>(cg.Get());
    d.attach_bpf_fd = static_cast<uint32_t>(ofd.Get());
    d.attach_type = BPF_CGROUP_DEVICE;
    if (Bpf(BPF_PROG_DETACH, &d) < 0 && errno != ENOENT)
      return Errno(field + ": bpf(BPF_PROG_DETACH)", cgroup_dir);
  }
  return {};
}

}  // namespace berth::cgroups
