#include "cri/client.h"

#include <gtest/gtest.h>

#include "cri/log_format.h"

namespace berth::cri {
namespace {

TEST(CriEndpoint, UnixUrlsAndBarePathsBecomeGrpcTargets) {
  EXPECT_EQ("unix:///run/berth/berth.sock", GrpcTarget("unix:///run/berth/berth.sock").value());
  EXPECT_EQ("unix:///run/x.sock", GrpcTarget("/run/x.sock").value());
  EXPECT_EQ("unix:///run/x.sock", GrpcTarget("unix:/run/x.sock").value());
  EXPECT_EQ("unix:x.sock", GrpcTarget("x.sock").value());
}

TEST(CriEndpoint, RefusesOtherSchemesAndEmptyPaths) {
  auto tcp = GrpcTarget("tcp://127.0.0.1:1234");
  ASSERT_FALSE(tcp);
  EXPECT_NE(std::string::npos, tcp.error().Message().find("unsupported scheme"));
  EXPECT_FALSE(GrpcTarget(""));
  EXPECT_FALSE(GrpcTarget("unix://"));
}

TEST(CriEndpoint, StatusCodeNames) {
  EXPECT_EQ("NOT_FOUND", StatusCodeName(5));
  EXPECT_EQ("UNAVAILABLE", StatusCodeName(14));
  EXPECT_EQ("CODE_UNKNOWN", StatusCodeName(99));
}

TEST(CriEndpoint, UnreachableEndpointNamesCallEndpointAndCode) {
  auto c = Client::Connect("unix:///nonexistent/berth-test.sock", std::chrono::seconds(2));
  ASSERT_TRUE(c);
  auto v = c->Version(v1::VersionRequest{});
  ASSERT_FALSE(v);
  std::string m = v.error().Message();
  EXPECT_EQ(0u, m.find("cri: Version on unix:///nonexistent/berth-test.sock: UNAVAILABLE")) << m;
}

TEST(CriLogFormat, ParsesFullPartialAndEmptyRecords) {
  auto full = ParseLogLine("2024-01-02T03:04:05.123456789Z stdout F hello world");
  ASSERT_TRUE(full);
  EXPECT_FALSE(full->stderr_stream);
  EXPECT_FALSE(full->partial);
  EXPECT_EQ("hello world", full->content);
  EXPECT_EQ("2024-01-02T03:04:05.123456789Z", full->timestamp);

  auto part = ParseLogLine("2024-01-02T03:04:05Z stderr P part ");
  ASSERT_TRUE(part);
  EXPECT_TRUE(part->stderr_stream);
  EXPECT_TRUE(part->partial);
  EXPECT_EQ("part ", part->content);

  auto empty = ParseLogLine("2024-01-02T03:04:05Z stdout F");
  ASSERT_TRUE(empty);
  EXPECT_EQ("", empty->content);

  auto tagged = ParseLogLine("2024-01-02T03:04:05Z stdout F:x y");
  ASSERT_TRUE(tagged);
  EXPECT_EQ("y", tagged->content);
}

TEST(CriLogFormat, RejectsOtherLines) {
  EXPECT_FALSE(ParseLogLine("plain text"));
  EXPECT_FALSE(ParseLogLine("2024-01-02T03:04:05Z stdin F x"));
  EXPECT_FALSE(ParseLogLine("2024-01-02T03:04:05Z stdout X x"));
  EXPECT_FALSE(ParseLogLine(""));
}

}  // namespace
}  // namespace berth::cri
