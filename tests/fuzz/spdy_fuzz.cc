// SPDY/3.1 framing as a streaming peer sends it (kubectl exec/attach/port-forward over SPDY):
// frame headers, lengths, SETTINGS counts and zlib header blocks inflated with the SPDY
// dictionary. The first byte picks the mode:
//   even: the rest is wire bytes, appended to a FrameReader in pieces (odd splits, as a
//         socket delivers them); every frame read must survive a FrameWriter -> FrameReader
//         round trip unchanged.
//   odd:  the rest describes frames (type, stream id, header pairs), which a FrameWriter
//         serialises and a FrameReader must read back as they were; so the header blocks
//         are real zlib streams for the fuzzer to mutate from (BERTH_SPDY_FUZZ_WRITE=FILE
//         saves those wire bytes: how the even-mode seeds were made).
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "stream/spdy_frame.h"

namespace {

using namespace berth;
using namespace berth::stream::spdy;

bool Same(const Frame& a, const Frame& b) {
  auto settings_eq = [&] {
    if (a.settings.size() != b.settings.size()) return false;
    for (size_t i = 0; i < a.settings.size(); ++i)
      if (a.settings[i].flags != b.settings[i].flags || a.settings[i].id != b.settings[i].id ||
          a.settings[i].value != b.settings[i].value)
        return false;
    return true;
  };
  return a.type == b.type && a.flags == b.flags && a.stream_id == b.stream_id &&
         a.associated_id == b.associated_id && a.priority == b.priority && a.slot == b.slot &&
         a.status == b.status && a.last_good_id == b.last_good_id && a.ping_id == b.ping_id &&
         a.delta == b.delta && a.headers == b.headers && a.data == b.data && settings_eq();
}

// Reads every frame out of `wire`, fed in pieces of `piece` bytes; stops at the first error.
std::vector<Frame> ReadAll(std::string_view wire, size_t piece, const char* stage) {
  Limits limits;
  limits.max_frame = 64 << 10;
  limits.max_header_block = 16 << 10;
  FrameReader reader(limits);
  std::vector<Frame> frames;
  size_t off = 0;
  while (off < wire.size()) {
    reader.Append(wire.substr(off, piece));
    off += piece;
    for (;;) {
      auto f = reader.Next();
      if (!f) {
        fuzz::CheckMessage(f.error(), stage);
        return frames;
      }
      if (!*f) break;
      frames.push_back(std::move(**f));
    }
  }
  return frames;
}

void RoundTrip(const std::vector<Frame>& frames, const char* what) {
  FrameWriter writer;
  std::string wire;
  for (const Frame& f : frames)
    if (auto w = writer.Write(f, &wire); !w) fuzz::Fail(what, w.error().Message());
  std::vector<Frame> back = ReadAll(wire, wire.size() + 1, what);
  if (back.size() != frames.size()) fuzz::Fail(what, "frame count changed");
  for (size_t i = 0; i < frames.size(); ++i)
    if (!Same(frames[i], back[i])) fuzz::Fail(what, "frame " + std::to_string(i) + " changed");
}

// Frames described by the fuzz input: [type][stream id byte][pairs...] per NUL-separated
// record; header names are lowercased and non-empty as on the wire.
std::vector<Frame> Describe(fuzz::Input& in) {
  static constexpr FrameType kTypes[] = {
      FrameType::kData,  FrameType::kSynStream, FrameType::kSynReply, FrameType::kRstStream,
      FrameType::kSettings, FrameType::kPing, FrameType::kGoAway, FrameType::kHeaders,
      FrameType::kWindowUpdate};
  std::vector<Frame> frames;
  while (!in.Rest().empty() && frames.size() < 16) {
    Frame f;
    f.type = kTypes[in.Byte() % std::size(kTypes)];
    f.flags = in.Byte() & kFlagFin;
    f.stream_id = 1 + in.Byte();
    switch (f.type) {
      case FrameType::kData:
        f.data = std::string(in.Field());
        break;
      case FrameType::kSynStream:
      case FrameType::kSynReply:
      case FrameType::kHeaders:
        for (int i = in.Byte() % 4; i > 0; --i) {
          std::string name(in.Field()), value(in.Field());
          if (name.empty()) name = "x";
          for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          // A repeated name is one header whose values are joined by NUL (as the reader
          // gives them back).
          auto it = std::find_if(f.headers.begin(), f.headers.end(),
                                 [&](const auto& kv) { return kv.first == name; });
          if (it != f.headers.end())
            it->second += std::string(1, '\0') + value;
          else
            f.headers.emplace_back(name, value);
        }
        break;
      case FrameType::kSettings:
        for (int i = in.Byte() % 3; i > 0; --i) f.settings.push_back({0, in.Byte(), in.Byte()});
        f.stream_id = 0;
        break;
      case FrameType::kPing:
        f.ping_id = in.Byte();
        f.stream_id = 0;
        break;
      case FrameType::kGoAway:
        f.last_good_id = f.stream_id;
        f.status = in.Byte() % 3;
        f.stream_id = 0;
        break;
      case FrameType::kRstStream:
        f.status = 1 + in.Byte() % 11;
        break;
      case FrameType::kWindowUpdate:
        f.delta = 1 + in.Byte();
        break;
    }
    frames.push_back(std::move(f));
  }
  return frames;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  const uint8_t mode = in.Byte();
  if (mode % 2 == 0) {
    const size_t piece = 1 + mode / 2 * 7;  // 1, 8, 15 ... 890 bytes at a time
    RoundTrip(ReadAll(in.Rest(), piece, "FrameReader"), "round trip of frames read");
    return 0;
  }
  std::vector<Frame> frames = Describe(in);
  RoundTrip(frames, "round trip of frames described");
  if (const char* out = std::getenv("BERTH_SPDY_FUZZ_WRITE")) {
    FrameWriter writer;
    std::string wire = "\x0e";  // even mode, 15-byte pieces
    for (const Frame& f : frames) (void)writer.Write(f, &wire);
    std::ofstream(out, std::ios::binary) << wire;
  }
  return 0;
}
