// overlayfs snapshots (containerd's overlayfs snapshotter, simplified):
//   <root>/layers/<chain-hex>/fs       one unpacked layer, committed, never changed again
//   <root>/layers/<chain-hex>/parent   chain id of the layer below ("" for the bottom one)
//   <root>/layers/<chain-hex>/layer.json  the commit record (LayerRecord): what fs/ holds
//   <root>/active/<key>/{fs,work}      a container's writable layer (upperdir, workdir)
//   <root>/active/<key>/parent         the chain id it sits on
//   <root>/tmp/<random>/fs             a layer being unpacked
//   <root>/l/<12 hex>                  short symlink -> ../layers/<chain-hex>/fs
//   <root>/lock                        flock: layer removal (exclusive) vs. use (shared)
//   <root>/locks/<chain-hex>           flock: a pull is unpacking this chain (see pull.cc)
// A layer is unpacked into tmp/ and renamed into layers/ only when complete, so a
// crashed unpack leaves nothing visible. Before the rename the layer is measured into its
// commit record and the filesystem is synced (one syncfs(2) per batch of layers), so after
// a power cut a layer under layers/ is whole: the rename is durable only after its files
// are. `berthctl check` compares each layer with its record. Snapshotters describe mounts;
// callers perform them.
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
#include "base/unique_fd.h"

namespace berth::image {

// What a layer's fs/ holds, counted by a walk that never follows symlinks or crosses
// mounts: non-directory inodes (a hard-linked inode once), directories, and the apparent
// size of regular files (a sparse file by its length, a hard-linked one once).
struct LayerStats {
  int64_t files = 0;
  int64_t dirs = 0;
  int64_t bytes = 0;
  bool operator==(const LayerStats&) const = default;
};

// layers/<hex>/layer.json, written before the commit rename.
struct LayerRecord {
  std::string chain_id;
  std::string parent;   // "" for a bottom layer
  std::string diff_id;  // the uncompressed tar's digest the layer was verified against
  LayerStats stats;
};

// A layer unpacked into a tmp dir (PrepareLayer), waiting to be committed.
struct PendingLayer {
  std::string tmp_fs;
  std::string chain_id;
  std::string parent_chain_id;
  std::string diff_id;
};

Result<LayerStats> MeasureTree(const std::string& dir);
std::string LayerStatsText(const LayerStats& s);  // "12 files, 3 dirs, 4096 bytes"

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
  // Commits unpacked tmp dirs (from PrepareLayer) in order, parents first: each is
  // measured into its record, one syncfs makes them all durable, then each is renamed into
  // layers/<chain>. A chain another unpack committed meanwhile is discarded (theirs is as
  // good). On an error the layers not yet committed are removed (AbortLayer); those
  // before it stay committed.
  Result<void> CommitLayers(const std::vector<PendingLayer>& layers);
  Result<void> CommitLayer(const std::string& tmp_fs, const std::string& chain_id,
                           const std::string& parent_chain_id, const std::string& diff_id = "") {
    return CommitLayers({{tmp_fs, chain_id, parent_chain_id, diff_id}});
  }
  // The commit record of a committed layer: NotFound when the layer has none (made before
  // records existed, or not a layer), DataLoss when it cannot be parsed or names another
  // chain.
  Result<LayerRecord> ReadLayerRecord(const std::string& chain_id) const;
  // Unpack claims, so two pulls sharing a layer unpack it once: a flock on
  // locks/<chain-hex>. TryClaimChain does not wait: an invalid fd means another process
  // holds the claim. ClaimChains takes locks/.acquire around a batch of tries, so claims
  // are made one pull at a time (pull.cc explains why that cannot deadlock).
  Result<UniqueFd> ClaimChain(const std::string& chain_id) const;  // waits
  Result<std::vector<UniqueFd>> TryClaimChains(const std::vector<std::string>& chain_ids) const;
  // Removes the claim files; only while no pull can run (gc.lock held exclusively).
  Result<void> CleanClaims() const;
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
