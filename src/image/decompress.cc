// Streaming decompressors behind the Reader interface: ISA-L igzip for gzip (several times
// faster than zlib's inflate), libzstd for zstd. Both verify their checksums and treat an
// input that stops before the compressed stream is complete as an error, so a truncated
// download can never pass for a shorter layer.
#include <isa-l/igzip_lib.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <memory>
#include <string>

#include "image/unpack.h"

namespace berth::image {

Result<size_t> FdReader::Read(void* buf, size_t n) {
  for (;;) {
    ssize_t r = ::read(fd_, buf, n);
    if (r >= 0) return static_cast<size_t>(r);
    if (errno != EINTR) return Errno("read", "layer");
  }
}

namespace {

// Compressed input is pulled in large chunks: fewer reads, and the decoders run longest
// without stopping at a buffer edge.
constexpr size_t kInputChunk = 512 * 1024;

class PassThrough : public Reader {
 public:
  explicit PassThrough(Reader& in) : in_(in) {}
  Result<size_t> Read(void* buf, size_t n) override { return in_.Read(buf, n); }

 private:
  Reader& in_;
};

// Buffered compressed input shared by both decoders.
class Input {
 public:
  explicit Input(Reader& in) : in_(in), buf_(new uint8_t[kInputChunk]) {}
  // Refills the buffer (only call when it is empty). Sets eof() when `in` ends.
  Result<void> Refill() {
    auto r = in_.Read(buf_.get(), kInputChunk);
    if (!r) return std::unexpected(r.error());
    size_ = *r;
    if (size_ == 0) eof_ = true;
    return {};
  }
  uint8_t* data() { return buf_.get(); }
  size_t size() const { return size_; }
  bool eof() const { return eof_; }

 private:
  Reader& in_;
  std::unique_ptr<uint8_t[]> buf_;
  size_t size_ = 0;
  bool eof_ = false;
};

std::string IsalError(int r) {
  switch (r) {
    case ISAL_INVALID_BLOCK:
      return "corrupt data in layer (invalid deflate block)";
    case ISAL_INVALID_SYMBOL:
      return "corrupt data in layer (invalid deflate symbol)";
    case ISAL_INVALID_LOOKBACK:
      return "corrupt data in layer (invalid back-reference distance)";
    case ISAL_INVALID_WRAPPER:
      return "not gzip data (invalid gzip header)";
    case ISAL_UNSUPPORTED_METHOD:
      return "unsupported compression method in gzip header";
    case ISAL_INCORRECT_CHECKSUM:
      return "corrupt data in layer (CRC or size mismatch)";
    case ISAL_NEED_DICT:
      return "stream needs a preset dictionary";
    default:
      return "corrupt data in layer (igzip error " + std::to_string(r) + ")";
  }
}

// gzip (RFC 1952) with ISA-L. A layer may be several gzip members back to back (pigz,
// `cat a.gz b.gz`); each is decoded in turn, and with crc_flag = ISAL_GZIP igzip checks
// every member's CRC32 and ISIZE trailer. Bytes after a member must start another member,
// as Go's compress/gzip (what docker and containerd use) requires.
class GzipReader : public Reader {
 public:
  explicit GzipReader(Reader& in) : in_(in), st_(std::make_unique<inflate_state>()) {
    isal_inflate_init(st_.get());
    st_->crc_flag = ISAL_GZIP;
  }

  Result<size_t> Read(void* buf, size_t n) override {
    if (done_ || n == 0) return 0;
    for (;;) {
      if (member_done_) {
        if (st_->avail_in == 0) BERTH_TRYV(Refill());
        if (st_->avail_in == 0) {  // clean end after a complete member
          done_ = true;
          return 0;
        }
        isal_inflate_reset(st_.get());
        st_->crc_flag = ISAL_GZIP;
        member_done_ = false;
      }
      if (st_->avail_in == 0 && !in_.eof()) BERTH_TRYV(Refill());
      uint32_t before_in = st_->avail_in;
      st_->next_out = static_cast<uint8_t*>(buf);
      st_->avail_out = static_cast<uint32_t>(std::min<size_t>(n, UINT32_MAX));
      int r = isal_inflate(st_.get());
      if (r < 0) return DataLoss("gzip", "", IsalError(r));
      size_t produced = std::min<size_t>(n, UINT32_MAX) - st_->avail_out;
      if (st_->block_state == ISAL_BLOCK_FINISH) member_done_ = true;
      if (produced > 0) return produced;
      if (member_done_) continue;
      if (st_->avail_in == 0 && in_.eof())
        return DataLoss("gzip", "", "unexpected end of layer (truncated gzip stream)");
      // Input left but neither consumed nor decoded: igzip is stuck; never spin on it.
      if (st_->avail_in != 0 && st_->avail_in == before_in)
        return DataLoss("gzip", "", "corrupt data in layer (decoder made no progress)");
    }
  }

 private:
  Result<void> Refill() {
    BERTH_TRYV(in_.Refill());
    st_->next_in = in_.data();
    st_->avail_in = static_cast<uint32_t>(in_.size());
    return {};
  }

  Input in_;
  std::unique_ptr<inflate_state> st_;  // ~40 KiB of tables: on the heap
  bool member_done_ = false;
  bool done_ = false;
};

// zstd (RFC 8878); ZSTD_decompressStream walks concatenated and skippable frames itself and
// verifies each frame's content checksum when the frame has one.
class ZstdReader : public Reader {
 public:
  explicit ZstdReader(Reader& in) : in_(in), dctx_(ZSTD_createDCtx()) {}
  ~ZstdReader() override { ZSTD_freeDCtx(dctx_); }

  bool ok() const { return dctx_ != nullptr; }

  Result<size_t> Read(void* buf, size_t n) override {
    if (done_ || n == 0) return 0;
    for (;;) {
      if (zin_.pos == zin_.size && !in_.eof()) {
        BERTH_TRYV(in_.Refill());
        zin_ = {in_.data(), in_.size(), 0};
      }
      if (zin_.pos == zin_.size && in_.eof() && !frame_open_) {
        done_ = true;
        return 0;
      }
      size_t before_in = zin_.pos;
      ZSTD_outBuffer out{buf, n, 0};
      size_t r = ZSTD_decompressStream(dctx_, &out, &zin_);
      if (ZSTD_isError(r))
        return DataLoss("zstd", "",
                    std::string("corrupt data in layer (") + ZSTD_getErrorName(r) + ")");
      // 0: the current frame is complete and flushed; anything else: more to come.
      frame_open_ = r != 0;
      if (out.pos > 0) return out.pos;
      if (zin_.pos == zin_.size && in_.eof() && frame_open_)
        return DataLoss("zstd", "", "unexpected end of layer (truncated zstd stream)");
      if (zin_.pos != zin_.size && zin_.pos == before_in)
        return DataLoss("zstd", "", "corrupt data in layer (decoder made no progress)");
    }
  }

 private:
  Input in_;
  ZSTD_DCtx* dctx_;
  ZSTD_inBuffer zin_{nullptr, 0, 0};
  bool frame_open_ = true;  // an empty input is not a zstd stream
  bool done_ = false;
};

}  // namespace

Result<std::unique_ptr<Reader>> Decompress(Reader& in, Compression c) {
  switch (c) {
    case Compression::kNone:
      return std::make_unique<PassThrough>(in);
    case Compression::kGzip:
      return std::make_unique<GzipReader>(in);
    case Compression::kZstd: {
      auto z = std::make_unique<ZstdReader>(in);
      if (!z->ok()) return ResourceExhausted("zstd", "", "ZSTD_createDCtx failed (out of memory)");
      return z;
    }
  }
  return Unimplemented("decompress", "", "unknown compression " + std::to_string(static_cast<int>(c)));
}

}  // namespace berth::image
