// Fault points: places in berthd and berth-shim where a test can make the process die with
// SIGKILL, as a crash or an OOM kill would, to prove that what it leaves is recovered.
//
//   BERTH_FAULT=NAME[@N][,NAME[@N]…]  the Nth time (default 1) the point NAME is reached,
//                                     the process SIGKILLs itself
//   BERTH_FAULT_STAMP=FILE            a point fires only if it can create FILE (O_EXCL), and
//                                     writes its name there first: one death per test round
//                                     however many processes (berthd, its shims) inherit
//                                     BERTH_FAULT, and the test knows which point fired
//
// Without BERTH_FAULT a point costs one relaxed atomic load. The catalogue below is the only
// list of names: `Reach("x")` with a name not in it does not compile, `berthd
// --list-fault-points` prints it, and a unit test checks docs/testing.md against it.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace berth::fault {

struct PointInfo {
  std::string_view name;
  std::string_view process;  // "berthd" or "berth-shim"
  std::string_view what;     // where it is, in a few words
};

// Grouped as the code runs them. "before"/"after" bracket one durable write or one call out of
// the process; the name says which.
inline constexpr PointInfo kCatalogue[] = {
    // RunPodSandbox (src/daemon/pod_run.cc)
    {"pod.record.creating.before", "berthd", "the pod's \"creating\" record is written"},
    {"pod.record.creating.after", "berthd", "the pod's \"creating\" record is written"},
    {"pod.netns.pin.before", "berthd", "the pod's net/ipc/uts namespaces are pinned (bind mounts)"},
    {"pod.netns.pin.after", "berthd", "the pod's net/ipc/uts namespaces are pinned (bind mounts)"},
    {"pod.pid_holder.start.before", "berthd", "the PID namespace holder is spawned"},
    {"pod.pid_holder.start.after", "berthd", "the PID namespace holder is spawned"},
    {"pod.shm.mount.before", "berthd", "the pod's /dev/shm tmpfs is mounted"},
    {"pod.shm.mount.after", "berthd", "the pod's /dev/shm tmpfs is mounted"},
    {"pod.cni.add.before", "berthd", "CNI ADD"},
    {"pod.cni.add.after", "berthd", "CNI ADD"},
    {"pod.shim.spawn.before", "berthd", "the pod's berth-shim is spawned"},
    {"pod.shim.spawn.after", "berthd", "the pod's berth-shim is spawned"},
    {"pod.record.ready.before", "berthd", "the pod's \"ready\" record is written"},
    {"pod.record.ready.after", "berthd", "the pod's \"ready\" record is written"},
    // CreateContainer (src/daemon/container_create.cc)
    {"ctr.record.creating.before", "berthd", "the container's \"creating\" record is written"},
    {"ctr.record.creating.after", "berthd", "the container's \"creating\" record is written"},
    {"ctr.snapshot.before", "berthd", "the container's snapshot is made and mounted"},
    {"ctr.snapshot.after", "berthd", "the container's snapshot is made and mounted"},
    {"ctr.shim.create.before", "berthd", "the shim is asked to create the container"},
    {"ctr.shim.create.after", "berthd", "the shim is asked to create the container"},
    {"ctr.record.created.before", "berthd", "the container's \"created\" record is written"},
    {"ctr.record.created.after", "berthd", "the container's \"created\" record is written"},
    // StartContainer, StopContainer, RemoveContainer (src/daemon/container_lifecycle.cc)
    {"ctr.shim.start.before", "berthd", "the shim is asked to start the container"},
    {"ctr.shim.start.after", "berthd", "the shim is asked to start the container"},
    {"ctr.shim.kill.before", "berthd", "the shim is asked to signal the container"},
    {"ctr.shim.kill.after", "berthd", "the shim is asked to signal the container"},
    {"ctr.shim.delete.before", "berthd", "the shim is asked to delete the container"},
    {"ctr.shim.delete.after", "berthd", "the shim is asked to delete the container"},
    {"ctr.snapshot.remove.before", "berthd", "the container's bundle and snapshot are removed"},
    {"ctr.snapshot.remove.after", "berthd", "the container's bundle and snapshot are removed"},
    {"ctr.record.remove.before", "berthd", "the container's record is removed"},
    {"ctr.record.remove.after", "berthd", "the container's record is removed"},
    // StopPodSandbox, RemovePodSandbox (src/daemon/pod_stop.cc, TearDownPod in pod_run.cc)
    {"pod.record.stopping.before", "berthd", "the pod's \"notready\" record is written before its teardown"},
    {"pod.record.stopping.after", "berthd", "the pod's \"notready\" record is written before its teardown"},
    {"pod.cni.del.before", "berthd", "CNI DEL"},
    {"pod.cni.del.after", "berthd", "CNI DEL"},
    {"pod.shm.umount.before", "berthd", "the pod's /dev/shm is unmounted"},
    {"pod.shm.umount.after", "berthd", "the pod's /dev/shm is unmounted"},
    {"pod.pid_holder.stop.before", "berthd", "the PID namespace holder is stopped"},
    {"pod.pid_holder.stop.after", "berthd", "the PID namespace holder is stopped"},
    {"pod.netns.unpin.before", "berthd", "the pinned namespaces are unmounted"},
    {"pod.netns.unpin.after", "berthd", "the pinned namespaces are unmounted"},
    {"pod.record.notready.before", "berthd", "the pod's \"notready\" record is written"},
    {"pod.record.notready.after", "berthd", "the pod's \"notready\" record is written"},
    {"pod.shim.shutdown.before", "berthd", "the pod's shim is told to exit"},
    {"pod.shim.shutdown.after", "berthd", "the pod's shim is told to exit"},
    {"pod.dirs.remove.before", "berthd", "the pod's and its shim's directories are removed"},
    {"pod.dirs.remove.after", "berthd", "the pod's and its shim's directories are removed"},
    {"pod.record.remove.before", "berthd", "the pod's record is removed"},
    {"pod.record.remove.after", "berthd", "the pod's record is removed"},
    // PullImage (src/image/content.cc, snapshot.cc, store.cc)
    {"image.blob.commit.before", "berthd", "a downloaded blob is committed to the content store"},
    {"image.blob.commit.after", "berthd", "a downloaded blob is committed to the content store"},
    {"image.snapshot.commit.before", "berthd", "a layer's unpacked snapshot is committed"},
    {"image.snapshot.commit.after", "berthd", "a layer's unpacked snapshot is committed"},
    {"image.record.commit.before", "berthd", "the image's name record is committed"},
    {"image.record.commit.after", "berthd", "the image's name record is committed"},
    // berth-shim (src/shim/containers.cc)
    {"shim.runtime.create.before", "berth-shim", "the runtime's create runs"},
    {"shim.runtime.create.after", "berth-shim", "the runtime's create runs"},
    {"shim.record.created.before", "berth-shim", "the container's record (pid, init identity) is written"},
    {"shim.record.created.after", "berth-shim", "the container's record (pid, init identity) is written"},
    {"shim.runtime.start.before", "berth-shim", "the runtime's start runs"},
    {"shim.runtime.start.after", "berth-shim", "the runtime's start runs"},
    {"shim.record.started.before", "berth-shim", "the container's record gets started_at"},
    {"shim.record.started.after", "berth-shim", "the container's record gets started_at"},
    {"shim.runtime.kill.before", "berth-shim", "the runtime's kill --all runs"},
    {"shim.runtime.kill.after", "berth-shim", "the runtime's kill --all runs"},
    {"shim.record.exit.before", "berth-shim", "the container's exit record is written"},
    {"shim.record.exit.after", "berth-shim", "the container's exit record is written"},
    {"shim.runtime.delete.before", "berth-shim", "the runtime's delete runs"},
    {"shim.runtime.delete.after", "berth-shim", "the runtime's delete runs"},
};

inline constexpr size_t kPoints = std::size(kCatalogue);

namespace internal {
// Not constexpr on purpose: reaching it while evaluating Point's constructor is the
// compile error for a name that is not in the catalogue.
void NameNotInCatalogue();

consteval bool WellFormed(std::string_view n) {
  if (n.empty() || n.front() == '.' || n.back() == '.') return false;
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_')) return false;
  return n.ends_with(".before") || n.ends_with(".after");
}

consteval bool CatalogueValid() {
  for (size_t i = 0; i < kPoints; ++i) {
    if (!WellFormed(kCatalogue[i].name)) return false;
    if (kCatalogue[i].process != "berthd" && kCatalogue[i].process != "berth-shim") return false;
    for (size_t j = i + 1; j < kPoints; ++j)
      if (kCatalogue[i].name == kCatalogue[j].name) return false;
  }
  return true;
}
static_assert(CatalogueValid(),
              "fault catalogue: names unique, [a-z0-9._], ending .before or .after; "
              "process berthd or berth-shim");
}  // namespace internal

// A catalogue entry, found at compile time.
class Point {
 public:
  consteval Point(const char* name) : index_(Find(name)) {}  // NOLINT: implicit on purpose
  constexpr size_t index() const { return index_; }
  constexpr const PointInfo& info() const { return kCatalogue[index_]; }

 private:
  static consteval size_t Find(std::string_view name) {
    for (size_t i = 0; i < kPoints; ++i)
      if (kCatalogue[i].name == name) return i;
    internal::NameNotInCatalogue();
    return kPoints;
  }
  size_t index_;
};

// The point is reached: dies here when BERTH_FAULT names it and this is its Nth time.
void Reach(Point p);

// What BERTH_FAULT asks for, parsed (exposed for the unit tests). Errors name the bad entry.
struct Plan {
  std::array<int, kPoints> nth{};  // 0: not armed
};
bool ParsePlan(std::string_view spec, Plan& plan, std::string& error);

// "" when BERTH_FAULT is unset or valid, else why not: berthd and berth-shim refuse to
// start on a name that is not in the catalogue (a test would otherwise pass unarmed).
std::string EnvironmentError();

// For tests: re-reads BERTH_FAULT / BERTH_FAULT_STAMP and resets the counters; and the
// decision Reach makes (true: this is the time to die), without dying.
void ReloadForTest();
bool ShouldFireForTest(Point p);

}  // namespace berth::fault
