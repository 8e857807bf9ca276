// What a streaming peer sends above the framing: the HTTP head before the upgrade (server:
// kubectl's request; client: the server's response), the error stream's Status JSON, resize
// messages, WebSocket channel messages, and URLs / query strings. The first byte picks.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "stream/http.h"
#include "stream/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace berth;
  using namespace berth::stream;
  fuzz::Input in(data, size);
  const uint8_t which = in.Byte();
  const std::string_view text = in.Rest();
  switch (which % 7) {
    case 0:
    case 1: {
      auto end = FindHeadEnd(text);
      if (end && *end > text.size()) fuzz::Fail("FindHeadEnd past the buffer");
      std::string_view head = end ? text.substr(0, *end) : text;
      auto h = which % 7 == 0 ? ParseRequestHead(head) : ParseResponseHead(head);
      fuzz::CheckResult(h, "ParseHead");
      if (h) {
        (void)HeaderHasToken(h->headers, "connection", "upgrade");
        (void)QueryValues(h->query, "command");
      }
      break;
    }
    case 2: {
      // Not an error is fine, and so is an error; an exception escaping is not.
      auto code = ParseStatusJson(text);
      fuzz::CheckResult(code, "ParseStatusJson");
      break;
    }
    case 3: {
      ResizeParser p;
      std::vector<TermSize> sizes;
      // In two pieces, as the bytes of a stream arrive.
      auto r = p.Feed(text.substr(0, text.size() / 2), &sizes);
      if (r) r = p.Feed(text.substr(text.size() / 2), &sizes);
      fuzz::CheckResult(r, "ResizeParser");
      break;
    }
    case 4:
    case 5: {
      const bool base64 = which & 8, v5 = which & 16;
      auto m = DecodeChannelMessage(text, base64, v5);
      fuzz::CheckResult(m, "DecodeChannelMessage");
      if (m && !m->close && !text.empty()) {
        auto again = DecodeChannelMessage(EncodeChannelMessage(m->channel, m->data, base64), base64, v5);
        if (!again || again->channel != m->channel || again->data != m->data)
          fuzz::Fail("channel message round trip");
      }
      break;
    }
    default: {
      auto u = ParseUrl(text);
      fuzz::CheckResult(u, "ParseUrl");
      (void)PercentDecode(text);
    }
  }
  return 0;
}
