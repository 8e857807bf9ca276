// Pull: one pass per layer from the network through the content store's verifying writer
// and, at the same time, through decompression and unpacking into a snapshot:
//
//   curl (this thread) ──▶ ContentWriter (sha256 + file)      ──▶ Commit (digest check)
//                     └──▶ ChunkQueue ──▶ unpack thread: Decompress ▶ tar ▶ files
//                                                          └▶ diff_id ▶ CommitLayer
//
// The layer snapshot is committed only when both sides agree: the compressed blob matched
// its digest and the unpacked tar matched the config's diff_id. Either failing discards
// the other's work, so nothing half-done becomes visible. Layers run in parallel.
#include "image/pull.h"

#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "base/log.h"
#include "base/unique_fd.h"
#include "image/unpack.h"

namespace berth::image {

namespace {

std::string ShortId(std::string_view digest) { return std::string(DigestHex(digest).substr(0, 12)); }

// A bounded queue of byte chunks between the downloading and the unpacking thread. The
// bound (in bytes) makes a slow unpacker slow the download down rather than buffer a layer.
class ChunkQueue : public Reader {
 public:
  explicit ChunkQueue(size_t max_bytes) : max_bytes_(max_bytes) {}

  // False when the reader has gone (it failed): the producer should stop.
  bool Push(const char* data, size_t n) {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return bytes_ < max_bytes_ || reader_gone_; });
    if (reader_gone_) return false;
    chunks_.emplace_back(data, n);
    bytes_ += n;
    cv_.notify_all();
    return true;
  }
  // End of stream: clean (ok) or failed (the reader's next Read returns the error).
  void Close(std::optional<Error> err = std::nullopt) {
    std::lock_guard lk(mu_);
    closed_ = true;
    err_ = std::move(err);
    cv_.notify_all();
  }
  void ReaderGone() {
    std::lock_guard lk(mu_);
    reader_gone_ = true;
    cv_.notify_all();
  }

  Result<size_t> Read(void* buf, size_t n) override {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return !chunks_.empty() || closed_; });
    if (chunks_.empty()) {
      if (err_) return std::unexpected(*err_);
      return 0;
    }
    std::string& front = chunks_.front();
    size_t take = std::min(n, front.size() - pos_);
    memcpy(buf, front.data() + pos_, take);
    pos_ += take;
    if (pos_ == front.size()) {
      bytes_ -= front.size();
      chunks_.pop_front();
      pos_ = 0;
      cv_.notify_all();
    }
    return take;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> chunks_;
  size_t pos_ = 0;
  size_t bytes_ = 0;
  size_t max_bytes_;
  bool closed_ = false;
  bool reader_gone_ = false;
  std::optional<Error> err_;
};

struct Ctx {
  Store& store;
  RegistryClient& client;
  const Reference& ref;
  const PullOptions& opts;
  std::mutex progress_mu;
  ImageBudget budget;
  UniqueFd root_fd;  // the store's filesystem, for the free-space floor

  UnpackOptions Unpack() {
    UnpackOptions u;
    u.limits = &opts.limits;
    u.image = &budget;
    return u;
  }

  void Report(const std::string& id, const char* status, int64_t cur, int64_t total) {
    if (!opts.progress) return;
    std::lock_guard lk(progress_mu);
    opts.progress(PullProgress{id, status, cur, total});
  }
};

// Fetches a small blob (config) into the store unless present; returns its bytes.
Result<std::string> FetchSmallBlob(Ctx& c, const Descriptor& d) {
  if (!c.store.content.Has(d.digest)) {
    int64_t max = c.opts.limits.max_config_size;
    if (max > 0 && d.size > max)
      return ResourceExhausted("pull", d.digest,
                               "the config has " + FormatSize(d.size) +
                                   ", more than the limit max_config_size = " + FormatSize(max) + " allows");
    std::string body;
    BERTH_TRYV(c.client.FetchBlob(c.ref, d.digest, d.size, 0, [&](const char* p, size_t n) {
      body.append(p, n);
      return Result<void>{};
    }));
    BERTH_TRYV(c.store.content.WriteBlob(d.digest, d.size, body));
    return body;
  }
  int64_t max = c.opts.limits.max_config_size;
  return c.store.content.ReadBlob(d.digest, max > 0 ? max : INT64_MAX);
}

// Unpacks a committed blob into a new layer directory, not yet committed: layers unpack
// in parallel but are committed in order, parents first (see Pull).
Result<std::string> UnpackFromStore(Store& store, const Descriptor& layer, Compression comp,
                                    const std::string& diff_id, const UnpackOptions& uopts) {
  auto fd = BERTH_TRY(store.content.OpenBlob(layer.digest));
  auto dir = BERTH_TRY(store.snapshots.PrepareLayer());
  FdReader in(fd.Get());
  auto r = UnpackLayer(in, comp, dir, uopts);
  if (r && r->diff_id != diff_id)
    r = DataLoss("unpack", layer.digest, "diff_id " + r->diff_id + " does not match the config's " + diff_id);
  if (!r) {
    store.snapshots.AbortLayer(dir);
    return std::unexpected(r.error().Wrap("layer " + ShortId(layer.digest)));
  }
  return dir;
}

// Fetches one layer into the content store and, when its snapshot is missing, unpacks it
// into *unpacked (a tmp dir the caller commits).
// `may_unpack` false: another pull has claimed the chain; only the blob is fetched.
Result<void> PullLayer(Ctx& c, const Descriptor& layer, const std::string& diff_id,
                       const std::string& chain, bool may_unpack, std::string* unpacked_dir) {
  const std::string id = ShortId(layer.digest);
  Compression comp = BERTH_TRY(LayerCompression(layer.media_type));
  bool need_unpack = may_unpack && c.opts.unpack && !c.store.snapshots.HasLayer(chain);
  if (need_unpack) log::Debug("layer " + id + ": unpacking chain " + chain);
  if (c.store.content.Has(layer.digest)) {
    if (need_unpack) {
      c.Report(id, "extracting", 0, layer.size);
      *unpacked_dir = BERTH_TRY(UnpackFromStore(c.store, layer, comp, diff_id, c.Unpack()));
    }
    c.Report(id, "exists", layer.size, layer.size);
    return {};
  }
  if (!layer.urls.empty() && layer.media_type.find("nondistributable") != std::string::npos)
    log::Debug("layer " + id + " is non-distributable; fetching it from the registry anyway");

  // Blocks while another pull writes the same blob; then it is there.
  auto writer = BERTH_TRY(c.store.content.Writer(layer.digest, layer.size));
  if (writer->Exists()) {
    writer.reset();
    return PullLayer(c, layer, diff_id, chain, may_unpack, unpacked_dir);
  }
  int64_t offset = writer->Offset();
  c.Report(id, "downloading", offset, layer.size);

  // A resumed blob (partial data from an interrupted pull) is completed first and unpacked
  // from the store afterwards: the unpacker needs the stream from byte 0.
  bool stream = need_unpack && offset == 0;
  ChunkQueue queue(8 << 20);
  UnpackOptions uopts = c.Unpack();
  SpaceFloor floor(c.opts.limits);
  const std::string blob_what = "blob " + id;
  std::string tmp_dir;
  Result<UnpackResult> unpacked = Internal("unpack", id, "not run");
  std::thread unpacker;
  if (stream) {
    tmp_dir = BERTH_TRY(c.store.snapshots.PrepareLayer());
    unpacker = std::thread([&] {
      unpacked = UnpackLayer(queue, comp, tmp_dir, uopts);
      if (!unpacked) {
        queue.ReaderGone();
        return;
      }
      // Whatever follows the compressed stream still has to reach the content writer.
      char sink[64 << 10];
      while (true) {
        auto n = queue.Read(sink, sizeof sink);
        if (!n || *n == 0) break;
      }
    });
  }
  int64_t done = offset;
  int64_t last_report = offset;
  bool unpacker_stopped = false;
  auto fetched = c.client.FetchBlob(c.ref, layer.digest, layer.size, offset,
                                    [&](const char* p, size_t n) -> Result<void> {
    if (c.root_fd) BERTH_TRYV(floor.Check(c.root_fd.Get(), static_cast<int64_t>(n), blob_what));
    BERTH_TRYV(writer->Write(p, n));
    if (stream && !queue.Push(p, n)) {
      unpacker_stopped = true;
      return Fail(ErrorKind::kAborted, "unpack", id, "unpacking stopped");
    }
    done += n;
    if (done - last_report >= (1 << 20) || done == layer.size) {
      last_report = done;
      c.Report(id, "downloading", done, layer.size);
    }
    return {};
  });
  Result<void> committed = fetched ? writer->Commit() : Result<void>{};
  if (stream) {
    // The unpacker sees the end of the stream only once the digest is known to be right.
    if (!fetched || !committed)
      queue.Close(fetched ? committed.error() : fetched.error());
    else
      queue.Close();
    unpacker.join();
  }
  if (!fetched) {
    if (stream) c.store.snapshots.AbortLayer(tmp_dir);
    // An unpack failure stops the download: report the cause, not "unpacking stopped".
    if (unpacker_stopped && !unpacked) return std::unexpected(unpacked.error().Wrap("layer " + id));
    return std::unexpected(fetched.error().Wrap("layer " + id));
  }
  if (!committed) {
    if (stream) c.store.snapshots.AbortLayer(tmp_dir);
    return std::unexpected(committed.error());
  }
  writer.reset();
  if (!stream) {
    if (need_unpack) {
      c.Report(id, "extracting", 0, layer.size);
      *unpacked_dir = BERTH_TRY(UnpackFromStore(c.store, layer, comp, diff_id, c.Unpack()));
    }
    c.Report(id, "done", layer.size, layer.size);
    return {};
  }
  if (unpacked && unpacked->diff_id != diff_id)
    unpacked = DataLoss("unpack", layer.digest,
                    "diff_id " + unpacked->diff_id + " does not match the config's " + diff_id);
  if (!unpacked) {
    c.store.snapshots.AbortLayer(tmp_dir);
    return std::unexpected(unpacked.error().Wrap("layer " + id));
  }
  *unpacked_dir = tmp_dir;
  c.Report(id, "done", layer.size, layer.size);
  return {};
}

// Runs fn(i) for i in [0, n) on up to `parallel` threads; the first error wins and stops
// new work from starting.
Result<void> ParallelFor(size_t n, int parallel, const std::function<Result<void>(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::optional<Error> first;
  auto worker = [&] {
    for (;;) {
      {
        std::lock_guard lk(mu);
        if (first) return;
      }
      size_t i = next++;
      if (i >= n) return;
      auto r = fn(i);
      if (!r) {
        std::lock_guard lk(mu);
        if (!first) first = r.error();
      }
    }
  };
  size_t threads = std::min<size_t>(n, std::max(1, parallel));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (first) return std::unexpected(*first);
  return {};
}

}  // namespace

Result<ImageRecord> Pull(Store& store, RegistryClient& client, const Reference& ref,
                         const PullOptions& opts) {
  // Shared: a concurrent gc must not sweep blobs this pull wrote before the image is named.
  auto gc_lock = LockGc(store, LOCK_SH);
  if (!gc_lock) return std::unexpected(gc_lock.error().Wrap("pull"));

  // What a killed pull left half-unpacked is removed; its partial blobs stay for resume.
  (void)store.snapshots.CleanTmp();

  Ctx c{store, client, ref, opts, {}, {}, {}};
  c.budget.max = opts.limits.max_image_size;
  c.root_fd.Reset(::open(store.snapshots.Root().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  const std::string what = ref.String();
  c.Report(what, "resolving", 0, 0);
  // The registry client's errors already say "pull <ref>: …".
  auto top = BERTH_TRY(client.FetchManifest(ref));
  Descriptor target = top.descriptor;

  // Manifests are parsed before anything is stored and written last: a registry answering
  // garbage leaves nothing behind, and no manifest is in the store without its content.
  Descriptor mdesc = target;
  std::string mbody = top.body;
  bool fetched_child = false;
  if (IsIndexType(target.media_type)) {
    auto index = BERTH_TRY(ParseIndex(top.body, target.digest));
    mdesc = BERTH_TRY(SelectManifest(index, opts.platform, what));
    if (store.content.Has(mdesc.digest)) {
      mbody = BERTH_TRY(store.content.ReadBlob(mdesc.digest));
    } else {
      auto m = BERTH_TRY(client.FetchManifestDigest(ref, mdesc.digest));
      if (m.descriptor.size != mdesc.size)
        return DataLoss("pull", what, "manifest " + mdesc.digest + " has " +
                                      std::to_string(m.descriptor.size) + " bytes, the index says " +
                                      std::to_string(mdesc.size));
      mbody = std::move(m.body);
      fetched_child = true;
    }
  } else if (!IsManifestType(target.media_type)) {
    return Unimplemented("pull", what, "unsupported manifest media type \"" + target.media_type + "\"");
  }
  auto manifest = BERTH_TRY(ParseManifest(mbody, mdesc.digest));
  auto cbody = FetchSmallBlob(c, manifest.config);
  if (!cbody) return std::unexpected(cbody.error().Wrap("pull " + what + ": config"));
  auto config = BERTH_TRY(ParseImageConfig(*cbody, manifest.config.digest));
  if (config.diff_ids.size() != manifest.layers.size())
    return InvalidArgument("pull", what, "the config lists " + std::to_string(config.diff_ids.size()) +
                                  " diff_ids for " + std::to_string(manifest.layers.size()) + " layers");
  if (!opts.platform.os.empty() && !PlatformMatches(opts.platform, config.platform))
    log::Warn("pull " + what + ": image is for " + config.platform.String() + ", not " +
              opts.platform.String());
  auto chains = ChainIds(config.diff_ids);
  for (auto& l : manifest.layers) c.Report(ShortId(l.digest), "waiting", 0, l.size);
  // Layers already there count towards max_image_size by their records.
  for (const auto& chain : chains)
    if (auto rec = store.snapshots.ReadLayerRecord(chain)) c.budget.used += rec->stats.bytes;

  // Two pulls of images sharing layers unpack each shared chain once: a pull claims the
  // chains it will unpack (Snapshotter::TryClaimChains, one pull at a time) and holds the
  // claims until its commit; a chain another pull has claimed is only downloaded here, and
  // after our own layers are done we wait for that claim, and unpack the chain ourselves
  // only if its holder did not commit it. No deadlock: a claim held while waiting is one
  // taken in the batch, and a pull waits only for pulls whose batch came before its own;
  // the claims waited for are dropped at once (never held while waiting).
  std::vector<UniqueFd> claims;
  std::vector<std::string> wanted;
  if (opts.unpack) {
    for (const auto& chain : chains)
      if (!store.snapshots.HasLayer(chain)) wanted.push_back(chain);
    claims = BERTH_TRY(store.snapshots.TryClaimChains(wanted));
  }
  auto claimed_elsewhere = [&](const std::string& chain) {
    for (size_t k = 0; k < wanted.size(); ++k)
      if (wanted[k] == chain) return !claims[k];
    return false;
  };
  std::vector<std::string> unpacked(manifest.layers.size());
  auto r = ParallelFor(manifest.layers.size(), opts.parallel, [&](size_t i) {
    return PullLayer(c, manifest.layers[i], config.diff_ids[i], chains[i],
                     !claimed_elsewhere(chains[i]), &unpacked[i]);
  });
  for (size_t i = 0; r && i < chains.size(); ++i) {
    if (!claimed_elsewhere(chains[i])) continue;
    auto wait = store.snapshots.ClaimChain(chains[i]);
    if (!wait) {
      r = std::unexpected(wait.error());
      break;
    }
    wait->Reset();
    if (store.snapshots.HasLayer(chains[i])) {
      log::Debug("layer " + ShortId(manifest.layers[i].digest) + ": chain " + chains[i] +
                 " was unpacked by another pull");
      continue;
    }
    // Its holder failed: unpack it here, unclaimed (a second copy would be discarded at
    // commit, never nested).
    log::Debug("layer " + ShortId(manifest.layers[i].digest) + ": unpacking chain " + chains[i] +
               " (the pull that claimed it did not commit it)");
    auto comp = LayerCompression(manifest.layers[i].media_type);
    if (!comp) {
      r = std::unexpected(comp.error());
      break;
    }
    auto dir = UnpackFromStore(store, manifest.layers[i], *comp, config.diff_ids[i], c.Unpack());
    if (!dir) {
      r = std::unexpected(dir.error());
      break;
    }
    unpacked[i] = *dir;
  }
  if (!r) {
    for (auto& dir : unpacked)
      if (!dir.empty()) store.snapshots.AbortLayer(dir);
    return std::unexpected(r.error().Wrap("pull " + what));
  }
  // Parents first: a layer is visible only once everything below it is.
  std::vector<PendingLayer> pending;
  for (size_t i = 0; i < unpacked.size(); ++i)
    if (!unpacked[i].empty())
      pending.push_back({unpacked[i], chains[i], i == 0 ? std::string() : chains[i - 1],
                         config.diff_ids[i]});
  r = store.snapshots.CommitLayers(pending);
  if (!r) return std::unexpected(r.error().Wrap("pull " + what));
  if (fetched_child) BERTH_TRYV(store.content.WriteBlob(mdesc.digest, mdesc.size, mbody));
  BERTH_TRYV(store.content.WriteBlob(target.digest, target.size, top.body));

  ImageRecord rec{what, target, log::NowRfc3339()};
  BERTH_TRYV(store.images.Put(rec));
  return rec;
}

Result<void> UnpackImage(Store& store, const ResolvedImage& image, const Limits& limits) {
  ImageBudget budget;
  budget.max = limits.max_image_size;
  for (const auto& chain : image.chain_ids)
    if (auto rec = store.snapshots.ReadLayerRecord(chain)) budget.used += rec->stats.bytes;
  UnpackOptions uopts;
  uopts.limits = &limits;
  uopts.image = &budget;
  for (size_t i = 0; i < image.manifest.layers.size(); ++i) {
    const auto& chain = image.chain_ids[i];
    if (store.snapshots.HasLayer(chain)) continue;
    const auto& layer = image.manifest.layers[i];
    Compression comp = BERTH_TRY(LayerCompression(layer.media_type));
    auto dir = BERTH_TRY(UnpackFromStore(store, layer, comp, image.config.diff_ids[i], uopts));
    BERTH_TRYV(store.snapshots.CommitLayer(dir, chain, i == 0 ? std::string() : image.chain_ids[i - 1],
                                           image.config.diff_ids[i]));
  }
  return {};
}

}  // namespace berth::image
