// berth-shim's wire protocol: frames (bounds, truncation), messages, errors with kinds,
// base64, and the runtime's error text.
#include <gtest/gtest.h>

#include "shim/protocol.h"
#include "shim/runtime_message.h"

namespace berth::shim {
namespace {

TEST(ShimFrame, RoundTripsWholeAndByteByByte) {
  auto a = EncodeFrame(R"({"op":"hello"})");
  auto b = EncodeFrame(R"({"op":"list"})");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(4u + 14u, a->size());
  EXPECT_EQ(std::string("\0\0\0\x0e", 4), a->substr(0, 4));

  FrameDecoder whole;
  whole.Feed(*a + *b);
  auto f1 = whole.Next(), f2 = whole.Next(), f3 = whole.Next();
  ASSERT_TRUE(f1 && *f1 && f2 && *f2 && f3);
  EXPECT_EQ(R"({"op":"hello"})", **f1);
  EXPECT_EQ(R"({"op":"list"})", **f2);
  EXPECT_FALSE(*f3);
  EXPECT_TRUE(whole.Finish());

  FrameDecoder bytes;
  std::string all = *a + *b;
  std::vector<std::string> got;
  for (char ch : all) {
    bytes.Feed(std::string_view(&ch, 1));
    auto f = bytes.Next();
    ASSERT_TRUE(f);
    if (*f) got.push_back(**f);
  }
  ASSERT_EQ(2u, got.size());
  EXPECT_EQ(R"({"op":"list"})", got[1]);
}

TEST(ShimFrame, OversizeHeaderFailsBeforeTheBodyArrives) {
  FrameDecoder d(1024);
  d.Feed(std::string("\x00\x00\x04\x01", 4));  // 1025 bytes announced, none sent
  auto f = d.Next();
  ASSERT_FALSE(f);
  EXPECT_TRUE(f.error().IsResourceExhausted()) << f.error().Message();
  EXPECT_NE(std::string::npos, f.error().Message().find("1025 bytes exceeds the bound of 1024"))
      << f.error().Message();

  FrameDecoder big;  // the default bound
  big.Feed(std::string("\xff\xff\xff\xff", 4));
  EXPECT_TRUE(big.Next().error().IsResourceExhausted());
}

TEST(ShimFrame, EmptyFrameIsInvalid) {
  FrameDecoder d;
  d.Feed(std::string(4, '\0'));
  auto f = d.Next();
  ASSERT_FALSE(f);
  EXPECT_TRUE(f.error().IsInvalidArgument());
}

TEST(ShimFrame, TruncatedFrameIsDataLossAtEof) {
  FrameDecoder header;
  header.Feed(std::string("\x00\x00", 2));
  ASSERT_TRUE(header.Next());
  auto h = header.Finish();
  ASSERT_FALSE(h);
  EXPECT_TRUE(h.error().Is(ErrorKind::kDataLoss));
  EXPECT_NE(std::string::npos, h.error().Message().find("2 bytes of a 4-byte frame header"))
      << h.error().Message();

  FrameDecoder body;
  body.Feed(std::string("\x00\x00\x00\x0a{\"op\"", 9));
  auto f = body.Next();
  ASSERT_TRUE(f);
  EXPECT_FALSE(*f);
  auto b = body.Finish();
  ASSERT_FALSE(b);
  EXPECT_TRUE(b.error().Is(ErrorKind::kDataLoss));
  EXPECT_NE(std::string::npos, b.error().Message().find("after 5 of 10 bytes"))
      << b.error().Message();
}

TEST(ShimFrame, EncodeRefusesEmptyAndOversize) {
  EXPECT_TRUE(EncodeFrame("").error().IsInvalidArgument());
  EXPECT_TRUE(EncodeFrame(std::string(11, 'x'), 10).error().IsResourceExhausted());
  EXPECT_TRUE(EncodeFrame(std::string(10, 'x'), 10));
}

TEST(ShimMessage, BadJsonAndNonObjectsAreInvalidArgument) {
  auto bad = ParseMessage("{not json");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().IsInvalidArgument());
  EXPECT_NE(std::string::npos, bad.error().Message().find("not valid JSON"))
      << bad.error().Message();
  auto arr = ParseMessage("[1,2]");
  ASSERT_FALSE(arr);
  EXPECT_TRUE(arr.error().IsInvalidArgument());
  EXPECT_NE(std::string::npos, arr.error().Message().find("not a JSON object"));
  EXPECT_TRUE(ParseMessage(R"({"op":"x"})"));
}

TEST(ShimMessage, FieldsOfTheWrongTypeNameTheField) {
  Json j = {{"id", 5}, {"tty", "yes"}, {"timeout_ms", "soon"}};
  auto id = GetString(j, "id");
  ASSERT_FALSE(id);
  EXPECT_TRUE(id.error().IsInvalidArgument());
  EXPECT_EQ("id", id.error().subject);
  EXPECT_TRUE(GetBool(j, "tty").error().IsInvalidArgument());
  EXPECT_TRUE(GetInt(j, "timeout_ms").error().IsInvalidArgument());
  EXPECT_TRUE(GetString(j, "bundle").error().IsInvalidArgument());  // required, missing
  EXPECT_EQ("", *GetString(j, "log_path", false));
  EXPECT_EQ(true, *GetBool(j, "stdin", true));
  EXPECT_EQ(7, *GetInt(j, "max", 7));
}

TEST(ShimMessage, ErrorsRoundTripWithTheirKind) {
  Error e = NotFound("state", "\"web\"", "no such container in this shim").error();
  e.code = ENOENT;
  e.Wrap("pod p1");
  auto back = ErrorFromJson(ErrorToJson(e));
  EXPECT_TRUE(back.IsNotFound());
  EXPECT_EQ(e.Message(), back.Message());
  EXPECT_EQ(ENOENT, back.code);

  // A kind known only by its errno is sent by name as well.
  Error by_errno{EEXIST, "mkdir", "/x", "", {}, ErrorKind::kUnknown};
  EXPECT_TRUE(ErrorFromJson(ErrorToJson(by_errno)).IsAlreadyExists());

  auto whole = ParseMessage(ErrorResponse(FailedPrecondition("shutdown", "p1", "busy").error()));
  ASSERT_TRUE(whole);
  EXPECT_TRUE(ErrorFromJson((*whole)["error"]).IsFailedPrecondition());
  EXPECT_EQ(ErrorKind::kUnknown, KindFromName("NO_SUCH_KIND"));
  EXPECT_EQ(ErrorKind::kDeadlineExceeded, KindFromName("DEADLINE_EXCEEDED"));
}

TEST(ShimMessage, InvalidUtf8IsReplacedNotThrown) {
  std::string body = ResultResponse({{"detail", std::string("bad \xff byte")}});
  auto j = ParseMessage(body);
  ASSERT_TRUE(j) << body;
}

TEST(ShimBase64, KnownVectorsAndBinary) {
  EXPECT_EQ("", Base64Encode(""));
  EXPECT_EQ("Zg==", Base64Encode("f"));
  EXPECT_EQ("Zm8=", Base64Encode("fo"));
  EXPECT_EQ("Zm9v", Base64Encode("foo"));
  EXPECT_EQ("Zm9vYmFy", Base64Encode("foobar"));
  std::string bin;
  for (int i = 0; i < 256; i++) bin += static_cast<char>(i);
  auto back = Base64Decode(Base64Encode(bin));
  ASSERT_TRUE(back);
  EXPECT_EQ(bin, *back);
  EXPECT_TRUE(Base64Decode("Zm9").error().IsInvalidArgument());
  EXPECT_TRUE(Base64Decode("Zm9*").error().IsInvalidArgument());
  EXPECT_TRUE(Base64Decode("Z===").error().IsInvalidArgument());
}

TEST(ShimRuntimeMessage, TakesErrorLinesOfEachForm) {
  EXPECT_EQ(
      "container \"x\" does not exist",
      RuntimeMessage(
          "{\"level\":\"info\",\"msg\":\"starting\"}\n"
          "{\"level\":\"error\",\"msg\":\"container \\\"x\\\" does not exist\",\"time\":\"t\"}\n"));
  EXPECT_EQ(
      "no such file",
      RuntimeMessage(
          "time=\"t\" level=warning msg=\"w\"\ntime=\"t\" level=error msg=\"no such file\"\n"));
  EXPECT_EQ("berth: kill \"x\": not running; second",
            RuntimeMessage("berth: kill \"x\": not running\n\nsecond\n"));
  EXPECT_EQ(
      "once",
      RuntimeMessage(
          "{\"level\":\"error\",\"msg\":\"once\"}\n{\"level\":\"error\",\"msg\":\"once\"}\n"));
  EXPECT_EQ("", RuntimeMessage(""));
  EXPECT_EQ("", RuntimeMessage("{\"level\":\"info\",\"msg\":\"all fine\"}\n"));
}

}  // namespace
}  // namespace berth::shim
