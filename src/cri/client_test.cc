#include "cri/client.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

#include "cri/v1/api.grpc.pb.h"
#include <filesystem>

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
  EXPECT_TRUE(v.error().IsUnavailable()) << "the kind is the gRPC code";
}

TEST(CriEndpoint, EventStreamToUnreachableEndpointFinishesUnavailable) {
  auto c = Client::Connect("unix:///nonexistent/berth-test.sock", std::chrono::seconds(2));
  ASSERT_TRUE(c);
  auto s = c->GetContainerEvents({});
  ASSERT_TRUE(s);
  v1::ContainerEventResponse e;
  EXPECT_FALSE((*s)->Next(&e));
  auto r = (*s)->Finish();
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().IsUnavailable()) << r.error().Message();
  EXPECT_NE(std::string::npos, r.error().Message().find("GetContainerEvents on unix:///nonexistent"));
}

// A private directory for the fake servers' sockets.
struct SockDir {
  SockDir() {
    char tmpl[] = "/tmp/berth-cri-client-XXXXXX";
    if (mkdtemp(tmpl)) dir = tmpl;
  }
  ~SockDir() {
    std::error_code ec;
    if (!dir.empty()) std::filesystem::remove_all(dir, ec);
  }
  const std::string& path() const { return dir; }
  std::string dir;
};

// A fake runtime in this process: Version answers with the berth-namespace metadata it got
// (and which service answered); GetContainerEvents sends two events, then waits for cancel.
class FakeRuntime final : public v1::RuntimeService::Service {
 public:
  explicit FakeRuntime(std::string name) : name_(std::move(name)) {}
  grpc::Status Version(grpc::ServerContext* ctx, const v1::VersionRequest*,
                       v1::VersionResponse* resp) override {
    auto it = ctx->client_metadata().find(kNamespaceMetadata);
    resp->set_runtime_name(name_);
    resp->set_version(it == ctx->client_metadata().end()
                          ? "<none>"
                          : std::string(it->second.data(), it->second.size()));
    return grpc::Status::OK;
  }
  grpc::Status GetContainerEvents(grpc::ServerContext* ctx, const v1::GetEventsRequest*,
                                  grpc::ServerWriter<v1::ContainerEventResponse>* w) override {
    for (int i = 0; i < 2; i++) {
      v1::ContainerEventResponse e;
      e.set_container_id("c" + std::to_string(i));
      e.set_container_event_type(i == 0 ? v1::CONTAINER_CREATED_EVENT : v1::CONTAINER_STARTED_EVENT);
      w->Write(e);
    }
    while (!ctx->IsCancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return grpc::Status::OK;
  }

 private:
  std::string name_;
};

class FakeImages final : public v1::ImageService::Service {
 public:
  grpc::Status ImageFsInfo(grpc::ServerContext*, const v1::ImageFsInfoRequest*,
                           v1::ImageFsInfoResponse* resp) override {
    resp->add_image_filesystems()->mutable_fs_id()->set_mountpoint("/images-here");
    return grpc::Status::OK;
  }
};

struct FakeServer {
  FakeServer(const std::string& path, grpc::Service* a, grpc::Service* b = nullptr) {
    grpc::ServerBuilder sb;
    sb.AddListeningPort("unix://" + path, grpc::InsecureServerCredentials());
    sb.RegisterService(a);
    if (b) sb.RegisterService(b);
    server = sb.BuildAndStart();
  }
  ~FakeServer() { server->Shutdown(std::chrono::system_clock::now()); }
  std::unique_ptr<grpc::Server> server;
};

TEST(CriClient, SendsTheNamespaceOnEveryCallOnlyWhenSet) {
  SockDir dir;
  FakeRuntime rt("rt");
  FakeServer srv(dir.path() + "/rt.sock", &rt);
  ASSERT_TRUE(srv.server);
  ClientOptions o;
  o.endpoint = "unix://" + dir.path() + "/rt.sock";
  o.timeout = std::chrono::seconds(5);
  auto plain = Client::Connect(o);
  ASSERT_TRUE(plain);
  EXPECT_EQ("<none>", plain->Version({}).value().version());
  o.ns = "other";
  auto in_ns = Client::Connect(o);
  ASSERT_TRUE(in_ns);
  EXPECT_EQ("other", in_ns->Version({}).value().version());
}

TEST(CriClient, ImageEndpointIsItsOwnChannel) {
  SockDir dir;
  FakeRuntime rt("rt");
  FakeImages img;
  FakeServer rt_srv(dir.path() + "/rt.sock", &rt);
  FakeServer img_srv(dir.path() + "/img.sock", &img);
  ClientOptions o;
  o.endpoint = "unix://" + dir.path() + "/rt.sock";
  o.image_endpoint = "unix://" + dir.path() + "/img.sock";
  auto c = Client::Connect(o);
  ASSERT_TRUE(c);
  EXPECT_EQ("rt", c->Version({}).value().runtime_name());
  auto fs = c->ImageFsInfo({});
  ASSERT_TRUE(fs) << fs.error().Message();
  EXPECT_EQ("/images-here", fs->image_filesystems(0).fs_id().mountpoint());
  // The runtime's socket has no ImageService: the error names the runtime's endpoint there.
  o.image_endpoint.clear();
  auto same = Client::Connect(o);
  ASSERT_TRUE(same);
  EXPECT_EQ(same->endpoint(), same->image_endpoint());
  auto none = same->ImageFsInfo({});
  ASSERT_FALSE(none);
  EXPECT_TRUE(none.error().IsUnimplemented()) << none.error().Message();
  EXPECT_NE(std::string::npos, none.error().Message().find("ImageFsInfo on " + o.endpoint));
}

TEST(CriClient, EventStreamReadsInOrderAndCancelEndsItCleanly) {
  SockDir dir;
  FakeRuntime rt("rt");
  FakeServer srv(dir.path() + "/rt.sock", &rt);
  auto c = Client::Connect("unix://" + dir.path() + "/rt.sock", std::chrono::seconds(5));
  ASSERT_TRUE(c);
  auto s = c->GetContainerEvents({});
  ASSERT_TRUE(s);
  v1::ContainerEventResponse e;
  ASSERT_TRUE((*s)->Next(&e));
  EXPECT_EQ("c0", e.container_id());
  EXPECT_EQ(v1::CONTAINER_CREATED_EVENT, e.container_event_type());
  ASSERT_TRUE((*s)->Next(&e));
  EXPECT_EQ("c1", e.container_id());
  std::thread canceller([&] { (*s)->Cancel(); });
  EXPECT_FALSE((*s)->Next(&e)) << "the server sends nothing more; Cancel ends the wait";
  canceller.join();
  EXPECT_TRUE((*s)->Finish()) << "a stream we cancelled finishes without an error";
}

TEST(CrictlConfig, ReadsTheKeysBerthctlUses) {
  auto c = ParseCrictlConfig(
      "# crictl's file\n---\nruntime-endpoint: unix:///run/berth/berth.sock\n"
      "image-endpoint: \"unix:///run/img.sock\"  # images elsewhere\ntimeout: 2\n"
      "debug: true\npull-image-on-create: false\n",
      "crictl.yaml");
  ASSERT_TRUE(c) << c.error().Message();
  EXPECT_EQ("unix:///run/berth/berth.sock", c->runtime_endpoint.value());
  EXPECT_EQ("unix:///run/img.sock", c->image_endpoint.value());
  EXPECT_EQ(2.0, c->timeout_s.value());
  EXPECT_TRUE(c->debug.value());
  ASSERT_EQ(1u, c->other_keys.size());
  EXPECT_EQ("pull-image-on-create", c->other_keys[0]);
  auto empty = ParseCrictlConfig("", "/dev/null");
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->runtime_endpoint);
  EXPECT_FALSE(empty->timeout_s);
}

TEST(CrictlConfig, RefusesWhatIsNotAFlatMappingWithLineNumbers) {
  auto nested = ParseCrictlConfig("runtime-endpoint:\n  nested: x\n", "f.yaml");
  ASSERT_FALSE(nested);
  EXPECT_NE(std::string::npos, nested.error().Message().find("f.yaml:2")) << nested.error().Message();
  EXPECT_TRUE(nested.error().IsInvalidArgument());
  EXPECT_FALSE(ParseCrictlConfig("timeout: soon\n", "f"));
  EXPECT_FALSE(ParseCrictlConfig("debug: maybe\n", "f"));
  EXPECT_FALSE(ParseCrictlConfig("just words\n", "f"));
  EXPECT_FALSE(ParseCrictlConfig("runtime-endpoint: \"unterminated\n", "f"));
}

}  // namespace
}  // namespace berth::cri
