#include "image/assembly.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>

#include "image/pull.h"
#include "image/snapshot.h"
#include "sys/fs.h"

namespace berth::image {
namespace {

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

std::string BundleDir(const std::string& bundles_dir, const std::string& id) {
  return bundles_dir + "/" + id;
}

// What AssembleContainer has made so far, undone in reverse on failure.
struct Made {
  bool bundle = false, rootfs = false, snapshot = false, mounted = false, config = false;
};

void Undo(Store& store, const std::string& bundle, const std::string& id, const Made& m) {
  std::string rootfs = bundle + "/rootfs";
  if (m.config) unlink((bundle + "/config.json").c_str());
  if (m.mounted) (void)UnmountAll(rootfs);
  if (m.snapshot) (void)store.snapshots.Remove(id);
  if (m.rootfs) rmdir(rootfs.c_str());
  if (m.bundle) rmdir(bundle.c_str());
}

}  // namespace

Result<void> ValidateContainerName(const std::string& id) {
  bool ok = !id.empty() && id.size() <= 128 && id[0] != '.';
  for (char c : id)
    ok = ok && (isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-');
  if (!ok)
    return InvalidArgument("container name", Quote(id),
                           "expected 1-128 of [A-Za-z0-9_.-], not starting with '.'");
  return {};
}

Result<Assembled> AssembleContainer(Store& store, const ResolvedImage& image,
                                    const std::string& id, const AssembleOptions& options) {
  BERTH_TRYV(ValidateContainerName(id));
  if (options.bundles_dir.empty())
    return InvalidArgument("assemble container", Quote(id), "no bundles directory given");
  BERTH_TRYV(UnpackImage(store, image, options.limits));
  BERTH_TRYV(sys::MkdirAll(options.bundles_dir, 0700));
  Assembled a{id, BundleDir(options.bundles_dir, id), BundleDir(options.bundles_dir, id) + "/rootfs"};
  Made made;
  auto build = [&]() -> Result<void> {
    if (mkdir(a.bundle.c_str(), 0700) < 0) {
      if (errno == EEXIST)
        return AlreadyExists("container", Quote(id), "a container of that name exists");
      return Errno("mkdir", a.bundle);
    }
    made.bundle = true;
    if (mkdir(a.rootfs.c_str(), 0755) < 0) return Errno("mkdir", a.rootfs);
    made.rootfs = true;
    auto mounts = BERTH_TRY(store.snapshots.Prepare(
        id, image.chain_ids.empty() ? std::string() : image.chain_ids.back()));
    made.snapshot = true;
    BERTH_TRYV(MountAll(mounts, a.rootfs));
    made.mounted = true;
    made.config = true;  // a half-written config.json is ours too
    return WriteBundleConfig(a.bundle, image.config, options.bundle);
  };
  if (auto r = build(); !r) {
    // Undo only what this call made (a snapshot of that name may belong to another).
    Undo(store, a.bundle, id, made);
    return std::unexpected(r.error());
  }
  return a;
}

Result<void> UnmountAssembled(const std::string& bundles_dir, const std::string& id) {
  BERTH_TRYV(ValidateContainerName(id));
  return UnmountAll(BundleDir(bundles_dir, id) + "/rootfs");
}

Result<void> RemoveAssembled(Store& store, const std::string& bundles_dir, const std::string& id,
                             bool remove_snapshot) {
  BERTH_TRYV(ValidateContainerName(id));
  std::string bundle = BundleDir(bundles_dir, id);
  Result<void> first;
  auto keep = [&](Result<void> r) {
    if (!r && first) first = std::move(r);
  };
  keep(UnmountAll(bundle + "/rootfs"));
  if (remove_snapshot) {
    // Absent: removed already, by a removal cut short before its caller forgot the
    // container (berthd killed between this and the record's removal). Done, not an error,
    // or the retried RemoveContainer would fail for ever.
    auto r = store.snapshots.Remove(id);
    if (!r && !r.error().IsNotFound()) keep(std::move(r));
  }
  std::string config = bundle + "/config.json";
  if (unlink(config.c_str()) < 0 && errno != ENOENT) keep(Errno("unlink", config));
  std::string rootfs = bundle + "/rootfs";
  if (rmdir(rootfs.c_str()) < 0 && errno != ENOENT) keep(Errno("rmdir", rootfs));
  if (rmdir(bundle.c_str()) < 0 && errno != ENOENT) keep(Errno("rmdir", bundle));
  return first;
}

}  // namespace berth::image
