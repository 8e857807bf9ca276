// Test helpers for the layer unpacker: a tiny tar writer that puts exactly the bytes a test
// asks for into each header (hostile names included, which real tar writers refuse or
// sanitize), compression through independent tools (the gzip CLI, ZSTD_compress), and a
// Reader over memory that can hand out data in tiny pieces to exercise stream edges.
#pragma once

#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "image/unpack.h"

// Tests build entries with designated initializers ({.name = "f", .type = '5'}); g++ 12
// warns about every member left to its default there, which is the point of them.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace berth::image::testing {

struct TarEntry {
  std::string name;
  char type = '0';  // '0' file, '1' hard link, '2' symlink, '3' char, '4' block, '5' dir, '6' fifo
  std::string data;
  std::string link;
  unsigned mode = 0644;
  unsigned uid = 0, gid = 0;
  long long mtime = 1700000000;
  unsigned devmajor = 0, devminor = 0;
  // Extra pax records, e.g. {"SCHILY.xattr.user.a", "v"}, {"mtime", "1.5"}.
  std::vector<std::pair<std::string, std::string>> pax;
};

class TarWriter {
 public:
  TarWriter& Add(TarEntry e) {
    auto pax = e.pax;
    // Names that do not fit (or hold a NUL) go into a pax record, exactly as given.
    if (e.name.size() > 100 || e.name.find('\0') != std::string::npos)
      pax.insert(pax.begin(), {"path", e.name});
    if (e.link.size() > 100 || e.link.find('\0') != std::string::npos)
      pax.insert(pax.begin(), {"linkpath", e.link});
    if (!pax.empty()) {
      std::string records;
      for (const auto& [k, v] : pax) records += PaxRecord(k, v);
      TarEntry x;
      x.name = "PaxHeaders/x";
      x.type = 'x';
      x.data = records;
      Header(x);
      Data(records);
    }
    Header(e);
    if (e.type == '0' || e.type == '7') Data(e.data);
    return *this;
  }
  TarWriter& File(const std::string& name, const std::string& data, unsigned mode = 0644) {
    return Add({.name = name, .type = '0', .data = data, .mode = mode});
  }
  TarWriter& Dir(const std::string& name, unsigned mode = 0755) {
    return Add({.name = name, .type = '5', .mode = mode});
  }
  TarWriter& Symlink(const std::string& name, const std::string& target) {
    return Add({.name = name, .type = '2', .link = target, .mode = 0777});
  }
  TarWriter& HardLink(const std::string& name, const std::string& target) {
    return Add({.name = name, .type = '1', .link = target});
  }
  // Raw bytes, e.g. a header the writer would not produce.
  TarWriter& Raw(const std::string& bytes) {
    out_ += bytes;
    return *this;
  }
  // The archive: two zero blocks end it; `record` > 0 pads to a multiple of it, as tar(1)
  // does with its 10240-byte records.
  std::string Finish(size_t record = 0) {
    std::string s = out_ + std::string(1024, '\0');
    if (record > 0 && s.size() % record != 0) s.append(record - s.size() % record, '\0');
    return s;
  }

  static std::string PaxRecord(const std::string& key, const std::string& value) {
    std::string body = " " + key + "=" + value + "\n";
    size_t n = body.size() + 1;
    while (std::to_string(n).size() + body.size() != n) ++n;
    return std::to_string(n) + body;
  }

 private:
  // len-1 zero-padded octal digits and a NUL, as ustar wants.
  static void Octal(char* field, size_t len, unsigned long long v) {
    field[len - 1] = '\0';
    for (size_t i = len - 1; i-- > 0; v >>= 3) field[i] = static_cast<char>('0' + (v & 7));
  }
  void Header(const TarEntry& e) {
    char h[512] = {};
    std::memcpy(h, e.name.data(), std::min<size_t>(e.name.size(), 100));
    Octal(h + 100, 8, e.mode);
    Octal(h + 108, 8, e.uid);
    Octal(h + 116, 8, e.gid);
    Octal(h + 124, 12, (e.type == '0' || e.type == 'x' || e.type == '7') ? e.data.size() : 0);
    Octal(h + 136, 12, static_cast<unsigned long long>(e.mtime));
    std::memset(h + 148, ' ', 8);
    h[156] = e.type;
    std::memcpy(h + 157, e.link.data(), std::min<size_t>(e.link.size(), 100));
    std::memcpy(h + 257,
                "ustar\0"
                "00",
                8);
    Octal(h + 329, 8, e.devmajor);
    Octal(h + 337, 8, e.devminor);
    unsigned sum = 0;
    for (unsigned char c : h) sum += c;
    std::snprintf(h + 148, 8, "%06o", sum);
    h[155] = ' ';
    out_.append(h, 512);
  }
  void Data(const std::string& d) {
    out_ += d;
    if (d.size() % 512) out_.append(512 - d.size() % 512, '\0');
  }

  std::string out_;
};

// Hands out `data` at most `chunk` bytes per Read.
class MemReader : public Reader {
 public:
  explicit MemReader(std::string data, size_t chunk = SIZE_MAX)
      : data_(std::move(data)), chunk_(chunk) {}
  Result<size_t> Read(void* buf, size_t n) override {
    size_t k = std::min({n, chunk_, data_.size() - pos_});
    std::memcpy(buf, data_.data() + pos_, k);
    pos_ += k;
    return k;
  }

 private:
  std::string data_;
  size_t chunk_;
  size_t pos_ = 0;
};

inline bool HaveGzip() { return std::system("gzip --version >/dev/null 2>&1") == 0; }

// gzip(1), an implementation independent of the ISA-L decoder under test.
inline std::string Gzip(const std::string& data) {
  char tmpl[] = "/var/tmp/berth-gzip-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0) return {};
  close(fd);
  std::string in = tmpl, out = in + ".gz";
  { std::ofstream(in, std::ios::binary) << data; }
  std::string cmd = "gzip -n -c '" + in + "' > '" + out + "'";
  std::string result;
  if (std::system(cmd.c_str()) == 0) {
    std::ifstream f(out, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    result = ss.str();
  }
  unlink(in.c_str());
  unlink(out.c_str());
  return result;
}

inline std::string Zstd(const std::string& data, int level = 3) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), level);
  if (ZSTD_isError(n)) return {};
  out.resize(n);
  return out;
}

inline std::string Compress(const std::string& tar, Compression c) {
  switch (c) {
    case Compression::kGzip:
      return Gzip(tar);
    case Compression::kZstd:
      return Zstd(tar);
    default:
      return tar;
  }
}

}  // namespace berth::image::testing
