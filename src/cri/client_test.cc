#include "cri/client.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace berth::cri
