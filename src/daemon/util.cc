#include <sys/random.h>
#include <time.h>

#include <google/protobuf/util/json_util.h>
#include <openssl/sha.h>

#include "daemon/daemon.h"

namespace berth::daemon {

namespace {

std::string Hex(const unsigned char* bytes, size_t n) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; i++) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 15];
  }
  return out;
}

}  // namespace

bool LabelsMatch(const google::protobuf::Map<std::string, std::string>& have,
                 const google::protobuf::Map<std::string, std::string>& want) {
  for (const auto& [k, v] : want) {
    auto it = have.find(k);
    if (it == have.end() || it->second != v) return false;
  }
  return true;
}

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string NewId() {
  unsigned char bytes[32];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n > 0) got += size_t(n);
  }
  return Hex(bytes, sizeof bytes);
}

std::string DigestOf(const google::protobuf::Message& m) {
  std::string bytes;
  m.SerializeToString(&bytes);  // deterministic enough for one berthd's own comparisons
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), md);
  return Hex(md, sizeof md);
}

std::string MessageToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

Result<void> JsonToMessage(const std::string& json, google::protobuf::Message* m,
                           const std::string& what) {
  google::protobuf::util::JsonParseOptions o;
  o.ignore_unknown_fields = true;
  auto st = google::protobuf::util::JsonStringToMessage(json, m, o);
  if (!st.ok()) return DataLoss("read record", what, std::string(st.message()));
  return {};
}

std::shared_ptr<EventBus::Subscription> EventBus::Subscribe(const std::string& ns) {
  auto s = std::make_shared<Subscription>();
  s->ns = ns;
  std::lock_guard lock(mu_);
  subs_.push_back(s);
  return s;
}

void EventBus::Unsubscribe(const std::shared_ptr<Subscription>& s) {
  std::lock_guard lock(mu_);
  std::erase(subs_, s);
}

void EventBus::Publish(const std::string& ns, const v1::ContainerEventResponse& e) {
  std::lock_guard lock(mu_);
  for (auto& s : subs_) {
    if (s->ns != ns) continue;
    std::lock_guard sl(s->mu);
    if (s->queue.size() >= kMaxQueued) s->queue.pop_front();
    s->queue.push_back(e);
    s->cv.notify_one();
  }
}

void EventBus::CloseAll() {
  std::lock_guard lock(mu_);
  for (auto& s : subs_) {
    std::lock_guard sl(s->mu);
    s->closed = true;
    s->cv.notify_all();
  }
}

}  // namespace berth::daemon
