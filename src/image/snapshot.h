// overlayfs snapshots (containerd's overlayfs snapshotter, simplified):
//   <root>/layers/<chain-hex>/fs       one unpacked layer, committed, never changed again
//   <root>/layers/<chain-hex>/parent   chain id of the layer below ("" for the bottom one)
//   <root>/active/<key>/{fs,work}      a container's writable layer (upperdir, workdir)
//   <root>/active/<key>/parent         the chain id it sits on
//   <root>/tmp/<random>/fs             a layer being unpacked
//   <root>/l/<12 hex>                  short symlink -> ../layers/<chain-hex>/fs
//   <root>/lock                        flock: layer removal (exclusive) vs. use (shared)
// A layer is unpacked into tmp/ and renamed into layers/ only when complete, so a
// crashed unpack leaves nothing visible. Snapshotters describe mounts; callers perform them.
//
// Long chains: mount(2) takes at most one page of options, and each lowerdir is ~100 bytes
// with the full path, so ~37 layers fit under the default root. Beyond ~4000 bytes of
// options the lowerdirs are given by their short symlinks in l/ (as Docker's overlay2 does;
// overlayfs resolves them at mount time), which fits ~80 layers; a chain too long even then
// is an error naming the layer count (a shorter --root helps). containerd has the same
// limit. The root path must not contain ',' or ':' (overlay option syntax).
#pragma once

#include <string>
#include <vector>

#include "base/error.h"

namespace berth::image {

struct Mount {
  std::string type;    // "overlay" or "bind"
  std::string source;  // "overlay" or a directory
  std::vector<std::string> options;  // "lowerdir=…", "upperdir=…", "workdir=…", "ro", "rbind"
};

class Snapshotter {
 public:
  static Result<Snapshotter> Open(std::string root);
  const std::string& Root() const { return root_; }

  bool HasLayer(const std::string& chain_id) const;
  // A fresh directory under tmp/ to unpack into; returns its path (the "fs" dir).
  Result<std::string> PrepareLayer();
  // Moves the unpacked tmp dir (from PrepareLayer) into layers/<chain>; when another
  // unpack committed the same chain meanwhile, discards ours and succeeds.
  Result<void> CommitLayer(const std::string& tmp_fs, const std::string& chain_id,
                           const std::string& parent_chain_id);
  // Removes a tmp dir from PrepareLayer (failed unpack).
  void AbortLayer(const std::string& tmp_fs);
  // Removes what crashed processes left in tmp/ (unpacks, prepares, removals): entries
  // whose creating process (its pid is in the name) no longer exists. Returns the count.
  Result<int> CleanTmp();
  // Path of the fs dir of a committed layer.
  std::string LayerPath(const std::string& chain_id) const;
  // Chain ids of all committed layers, and of the layer below one.
  Result<std::vector<std::string>> Layers() const;
  Result<std::string> LayerParent(const std::string& chain_id) const;
  // Removes a committed layer; fails when an active snapshot or another layer uses it.
  // Absent is not an error.
  Result<void> RemoveLayer(const std::string& chain_id);

  // A writable snapshot `key` over the layer chain ending at chain_id (chain_id "" = empty
  // rootfs: a read-write bind of the snapshot's empty fs dir). Fails when key exists.
  // Returns the mounts that build the rootfs.
  Result<std::vector<Mount>> Prepare(const std::string& key, const std::string& chain_id);
  // A read-only view: overlay of the lowers only (a single layer: a read-only bind).
  Result<std::vector<Mount>> View(const std::string& chain_id) const;
  Result<std::vector<Mount>> Mounts(const std::string& key) const;
  Result<std::vector<std::string>> ActiveKeys() const;
  // Removes an active snapshot (unmount it first); absent: an error with code ENOENT.
  // Keys are 1-128 characters of [A-Za-z0-9_.-], not starting with '.'.
  Result<void> Remove(const std::string& key);

 private:
  explicit Snapshotter(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

// Performs the mounts (in order) on target; and the reverse.
Result<void> MountAll(const std::vector<Mount>& mounts, const std::string& target);
Result<void> UnmountAll(const std::string& target);

}  // namespace berth::image
