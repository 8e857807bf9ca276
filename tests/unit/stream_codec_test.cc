// SPDY/3.1 frames, the WebSocket channel framing, the Status JSON, the resize parser and
// the token cache of berth_stream (src/stream).
#include <gtest/gtest.h>
#include <zlib.h>

#include "stream/http.h"
#include "stream/protocol.h"
#include "stream/spdy_frame.h"
#include "stream/token_cache.h"

namespace berth::stream {
namespace {

using spdy::Frame;
using spdy::FrameReader;
using spdy::FrameType;
using spdy::FrameWriter;

Frame RoundTrip(FrameWriter& w, FrameReader& r, const Frame& f) {
  std::string bytes;
  EXPECT_TRUE(w.Write(f, &bytes));
  r.Append(bytes);
  auto got = r.Next();
  EXPECT_TRUE(got) << got.error().Message();
  EXPECT_TRUE(got->has_value());
  EXPECT_EQ(r.Buffered(), 0u);
  return **got;
}

TEST(StreamSpdy, DictionaryIsTheSpecs) {
  const std::string& d = spdy::HeaderDictionary();
  EXPECT_EQ(d.size(), 1423u);
  // The DICTID zlib puts in a SPDY/3 header stream (its adler32): 0xe3c6a7c2.
  EXPECT_EQ(adler32(1, reinterpret_cast<const Bytef*>(d.data()), static_cast<uInt>(d.size())),
            0xe3c6a7c2u);
}

TEST(StreamSpdy, ControlFramesRoundTrip) {
  FrameWriter w;
  FrameReader r;
  Frame f = RoundTrip(w, r, spdy::RstFrame(5, spdy::kStreamInUse));
  EXPECT_EQ(f.type, FrameType::kRstStream);
  EXPECT_EQ(f.stream_id, 5u);
  EXPECT_EQ(f.status, spdy::kStreamInUse);
  f = RoundTrip(w, r, spdy::PingFrame(7));
  EXPECT_EQ(f.type, FrameType::kPing);
  EXPECT_EQ(f.ping_id, 7u);
  f = RoundTrip(w, r, spdy::GoAwayFrame(9, spdy::kGoAwayProtocolError));
  EXPECT_EQ(f.type, FrameType::kGoAway);
  EXPECT_EQ(f.last_good_id, 9u);
  EXPECT_EQ(f.status, spdy::kGoAwayProtocolError);
  f = RoundTrip(w, r, spdy::WindowUpdateFrame(3, 65536));
  EXPECT_EQ(f.type, FrameType::kWindowUpdate);
  EXPECT_EQ(f.delta, 65536u);
  Frame s;
  s.type = FrameType::kSettings;
  s.settings = {{0, spdy::kSettingsInitialWindowSize, 1 << 20}, {1, 4, 100}};
  f = RoundTrip(w, r, s);
  ASSERT_EQ(f.settings.size(), 2u);
  EXPECT_EQ(f.settings[0].id, spdy::kSettingsInitialWindowSize);
  EXPECT_EQ(f.settings[0].value, 1u << 20);
  EXPECT_EQ(f.settings[1].flags, 1);
  f = RoundTrip(w, r, spdy::DataFrame(1, std::string("x\0y", 3), true));
  EXPECT_EQ(f.type, FrameType::kData);
  EXPECT_EQ(f.data, std::string("x\0y", 3));
  EXPECT_TRUE(f.Fin());
}

TEST(StreamSpdy, HeaderBlocksShareOneZlibStreamPerDirection) {
  FrameWriter w;
  FrameReader r;
  for (uint32_t id = 1; id < 12; id += 2) {
    spdy::Headers h = {{"streamtype", "stdout"},
                       {"port", std::to_string(id)},
                       {"requestid", std::string("a\0b", 3)}};
    Frame f = RoundTrip(w, r, spdy::SynStreamFrame(id, h, id == 11));
    EXPECT_EQ(f.type, FrameType::kSynStream);
    EXPECT_EQ(f.stream_id, id);
    EXPECT_EQ(f.headers, h);
    EXPECT_EQ(spdy::HeaderValue(f.headers, "requestid"), "a");
    EXPECT_EQ(f.Fin(), id == 11);
  }
  Frame reply = RoundTrip(w, r, spdy::ReplyFrame(3));
  EXPECT_EQ(reply.type, FrameType::kSynReply);
  EXPECT_TRUE(reply.headers.empty());
}

TEST(StreamSpdy, FramesSplitAcrossReadsAndNamesLowered) {
  FrameWriter w;
  std::string bytes;
  ASSERT_TRUE(w.Write(spdy::SynStreamFrame(1, {{"StreamType", "error"}}), &bytes));
  ASSERT_TRUE(w.Write(spdy::DataFrame(1, "hello"), &bytes));
  FrameReader r;
  std::vector<Frame> got;
  for (char c : bytes) {
    r.Append(std::string_view(&c, 1));
    auto f = r.Next();
    ASSERT_TRUE(f);
    if (f->has_value()) got.push_back(**f);
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(spdy::HeaderValue(got[0].headers, "streamtype"), "error");
  EXPECT_EQ(got[1].data, "hello");
}

std::string ControlHeader(uint16_t version, uint16_t type, uint8_t flags, uint32_t len) {
  std::string s;
  s.push_back(static_cast<char>(0x80 | (version >> 8)));
  s.push_back(static_cast<char>(version));
  s.push_back(static_cast<char>(type >> 8));
  s.push_back(static_cast<char>(type));
  s.push_back(static_cast<char>(flags));
  s.push_back(static_cast<char>(len >> 16));
  s.push_back(static_cast<char>(len >> 8));
  s.push_back(static_cast<char>(len));
  return s;
}

TEST(StreamSpdy, MalformedFramesAreSessionErrors) {
  {
    FrameReader r;
    r.Append(ControlHeader(2, 1, 0, 10) + std::string(10, '\0'));
    auto f = r.Next();
    ASSERT_FALSE(f);
    EXPECT_TRUE(f.error().IsInvalidArgument());  // SPDY/2
  }
  {
    FrameReader r;
    r.Append(ControlHeader(3, 3, 0, 4) + std::string(4, '\0'));  // RST_STREAM too short
    EXPECT_FALSE(r.Next());
  }
  {
    FrameReader r(spdy::Limits{1024, 1024});
    r.Append(ControlHeader(3, 0, 0, 0x100000));
    auto f = r.Next();
    ASSERT_FALSE(f);
    EXPECT_TRUE(f.error().IsResourceExhausted());
  }
  {
    FrameReader r;  // a SYN_STREAM whose header block is not zlib
    r.Append(ControlHeader(3, 1, 0, 14) + std::string("\0\0\0\1\0\0\0\0\0\0garb", 14));
    EXPECT_FALSE(r.Next());
  }
  {
    FrameReader r;  // DATA on stream 0
    r.Append(std::string("\0\0\0\0\0\0\0\0", 8));
    EXPECT_FALSE(r.Next());
  }
  {
    FrameReader r;  // SETTINGS whose count does not match
    r.Append(ControlHeader(3, 4, 0, 4) + std::string("\0\0\0\5", 4));
    EXPECT_FALSE(r.Next());
  }
}

TEST(StreamSpdy, HeaderBlockLiesAreCaught) {
  // A header block that claims more pairs than it holds, compressed properly.
  auto compress = [](const std::string& plain) {
    z_stream zs{};
    deflateInit(&zs, Z_DEFAULT_COMPRESSION);
    const std::string& d = spdy::HeaderDictionary();
    deflateSetDictionary(&zs, reinterpret_cast<const Bytef*>(d.data()),
                         static_cast<uInt>(d.size()));
    std::string out(plain.size() + 128, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
    zs.avail_in = static_cast<uInt>(plain.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    deflate(&zs, Z_SYNC_FLUSH);
    out.resize(out.size() - zs.avail_out);
    deflateEnd(&zs);
    return out;
  };
  for (std::string plain :
       {std::string("\xff\xff\xff\xff", 4), std::string("\0\0\0\1\0\0\0\x10name", 12),
        std::string("\0\0\0\1\0\0\0\0\0\0\0\0", 12)}) {
    std::string block = compress(plain);
    FrameReader r;
    r.Append(ControlHeader(3, 2, 0, static_cast<uint32_t>(4 + block.size())) +
             std::string("\0\0\0\1", 4) + block);
    EXPECT_FALSE(r.Next());
  }
  // Inflating past the limit (a zip bomb of header names) is refused.
  std::string big("\0\0\0\1\0\1\0\0", 8);
  big += std::string(65536, 'a') + std::string("\0\0\0\0", 4);
  std::string block = compress(big);
  FrameReader r(spdy::Limits{1 << 20, 16 << 10});
  r.Append(ControlHeader(3, 2, 0, static_cast<uint32_t>(4 + block.size())) +
           std::string("\0\0\0\1", 4) + block);
  auto f = r.Next();
  ASSERT_FALSE(f);
  EXPECT_TRUE(f.error().IsResourceExhausted());
}

TEST(StreamSpdy, UnknownControlFramesAreSkipped) {
  FrameReader r;
  std::string bytes;
  for (int i = 0; i < 100000; ++i) bytes += ControlHeader(3, 0x55, 0, 0);  // no deep recursion
  FrameWriter w;
  ASSERT_TRUE(w.Write(spdy::PingFrame(1), &bytes));
  r.Append(bytes);
  auto f = r.Next();
  ASSERT_TRUE(f);
  ASSERT_TRUE(f->has_value());
  EXPECT_EQ((*f)->type, FrameType::kPing);
}

TEST(StreamChannel, BinaryAndBase64Messages) {
  std::string m = EncodeChannelMessage(kStdout, std::string("a\0b", 3), false);
  EXPECT_EQ(m, std::string("\x01"
                           "a\0b",
                           4));
  auto d = DecodeChannelMessage(m, false, false);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->channel, kStdout);
  EXPECT_EQ(d->data, std::string("a\0b", 3));
  std::string b = EncodeChannelMessage(kStderr, "hello", true);
  EXPECT_EQ(b, "2aGVsbG8=");
  d = DecodeChannelMessage(b, true, false);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->channel, kStderr);
  EXPECT_EQ(d->data, "hello");
  EXPECT_FALSE(DecodeChannelMessage("", false, false));
  EXPECT_FALSE(DecodeChannelMessage("x!!", true, false));
}

TEST(StreamChannel, V5CloseSignal) {
  std::string c = EncodeCloseSignal(kStdin);
  EXPECT_EQ(c, std::string("\xff\x00", 2));
  auto d = DecodeChannelMessage(c, false, true);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->close);
  EXPECT_EQ(d->channel, kStdin);
  // Before v5, 255 is just a channel number.
  d = DecodeChannelMessage(c, false, false);
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->close);
  EXPECT_FALSE(DecodeChannelMessage(std::string("\xff\x00\x00", 3), false, true));
}

TEST(StreamStatus, JsonForEachOutcome) {
  EXPECT_EQ(StatusJson(ExitStatus{}), R"({"metadata":{},"status":"Success"})");
  std::string j = StatusJson(ExitStatus{false, 7, "command terminated with non-zero exit code"});
  EXPECT_NE(j.find(R"("reason":"NonZeroExitCode")"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("causes":[{"reason":"ExitCode","message":"7"}])"), std::string::npos) << j;
  auto code = ParseStatusJson(j);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 7);
  EXPECT_EQ(*ParseStatusJson(StatusJson(ExitStatus{})), 0);
  auto e = ParseStatusJson(StatusJson(ExitStatus{false, 0, "exec: no such file"}));
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().detail, "exec: no such file");
  EXPECT_FALSE(ParseStatusJson("not json"));
  EXPECT_FALSE(ParseStatusJson(
      R"({"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"x"}]}})"));
  EXPECT_EQ(StatusText(ExitStatus{}), "");
  EXPECT_EQ(StatusText(ExitStatus{false, 0, "boom"}), "boom");
}

TEST(StreamResize, ParsesLinesAndChunks) {
  ResizeParser p;
  std::vector<TermSize> out;
  ASSERT_TRUE(p.Feed("{\"Width\":80,\"Hei", &out));
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(p.Feed("ght\":24}\n{\"Width\":100,\"Height\":50}\n", &out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].width, 80);
  EXPECT_EQ(out[0].height, 24);
  EXPECT_EQ(out[1].width, 100);
  EXPECT_FALSE(p.Feed("{\"Width\":-1,\"Height\":2}", &out));
  ResizeParser q;
  EXPECT_FALSE(q.Feed("{" + std::string(5000, ' '), &out));
  EXPECT_EQ(ResizeJson(TermSize{132, 43}), "{\"Width\":132,\"Height\":43}\n");
}

TEST(StreamNegotiate, ClientOrderAndCommaLists) {
  std::vector<std::string_view> server = {"v4.channel.k8s.io", "v3.channel.k8s.io"};
  EXPECT_EQ(Negotiate({"v5.channel.k8s.io", "v3.channel.k8s.io", "v4.channel.k8s.io"}, server),
            "v3.channel.k8s.io");
  EXPECT_EQ(Negotiate({"v5.channel.k8s.io, v4.channel.k8s.io"}, server), "v4.channel.k8s.io");
  EXPECT_FALSE(Negotiate({"v9.channel.k8s.io"}, server));
  EXPECT_FALSE(Negotiate({}, server));
}

TEST(StreamHttp, HeadsAndAccept) {
  std::string req =
      "POST /exec/abc?x=1 HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\n"
      "X-Stream-Protocol-Version: v4.channel.k8s.io\r\nX-Stream-Protocol-Version: "
      "v3.channel.k8s.io\r\n\r\nrest";
  auto end = FindHeadEnd(req);
  ASSERT_TRUE(end);
  EXPECT_EQ(req.substr(*end), "rest");
  auto h = ParseRequestHead(std::string_view(req).substr(0, *end));
  ASSERT_TRUE(h) << h.error().Message();
  EXPECT_EQ(h->method, "POST");
  EXPECT_EQ(h->path, "/exec/abc");
  EXPECT_EQ(h->query, "x=1");
  EXPECT_TRUE(HeaderHasToken(h->headers, "connection", "upgrade"));
  EXPECT_EQ(HeaderAll(h->headers, "x-stream-protocol-version").size(), 2u);
  EXPECT_FALSE(ParseRequestHead("BLAH\r\n\r\n"));
  // RFC 6455 section 1.3's example.
  EXPECT_EQ(WebSocketAccept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(QueryValues("ports=80,90&x=1&ports=7", "ports"),
            (std::vector<std::string>{"80,90", "7"}));
  auto u = ParseUrl("https://[::1]:8443/portforward/tok");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->path_and_query, "/portforward/tok");
}

TEST(StreamTokens, SingleUseExpiryAndBound) {
  auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  TokenCache cache(std::chrono::seconds(60), 2, [&] { return now; });
  auto t1 = cache.Insert(ExecRequest{.container_id = "a"});
  ASSERT_TRUE(t1);
  EXPECT_GE(t1->size(), 22u);
  EXPECT_EQ(
      t1->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos);
  auto t2 = cache.Insert(AttachRequest{.container_id = "b"});
  ASSERT_TRUE(t2);
  EXPECT_NE(*t1, *t2);
  auto full = cache.Insert(PortForwardRequest{.pod_id = "c"});
  ASSERT_FALSE(full);
  EXPECT_TRUE(full.error().IsResourceExhausted());

  auto r = cache.Consume(*t1);
  ASSERT_TRUE(r);
  EXPECT_EQ(std::get<ExecRequest>(*r).container_id, "a");
  auto again = cache.Consume(*t1);
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().IsNotFound());

  now += std::chrono::seconds(61);
  auto late = cache.Consume(*t2);
  ASSERT_FALSE(late);
  EXPECT_TRUE(late.error().IsNotFound());
  // Expired entries free their place.
  EXPECT_TRUE(cache.Insert(ExecRequest{}));
  EXPECT_TRUE(cache.Insert(ExecRequest{}));
  EXPECT_EQ(cache.Size(), 2u);
}

}  // namespace
}  // namespace berth::stream
