#include "daemon/names.h"

namespace berth::daemon {

Result<NameRegistry::Claim> NameRegistry::Reserve(const std::string& name,
                                                  const std::string& digest,
                                                  const std::string& what,
                                                  std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    auto e = std::make_shared<Entry>();
    e->digest = digest;
    entries_.emplace(name, e);
    return Claim{true, {}};
  }
  std::shared_ptr<Entry> e = it->second;
  if (e->digest != digest) {
    std::string holder = e->pending ? "a request still being handled" : e->id;
    return AlreadyExists("reserve name", what + " \"" + name + "\"",
                         "the name is taken by " + holder +
                             " with a different configuration; remove it first");
  }
  // The same request again: join it.
  bool done = cv_.wait_for(lock, wait, [&] { return !e->pending; });
  if (!done)
    return DeadlineExceeded("reserve name", what + " \"" + name + "\"",
                            "the same request is still being handled; call again later");
  if (e->failed)
    return Fail(ErrorKind::kAborted, "reserve name", what + " \"" + name + "\"",
                "the same request failed meanwhile; call again");
  return Claim{false, e->id};
}

void NameRegistry::Commit(const std::string& name, const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) return;
  it->second->id = id;
  it->second->pending = false;
  cv_.notify_all();
}

void NameRegistry::Release(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) return;
  // Waiters hold the entry: tell them it failed, and free the name.
  if (it->second->pending) it->second->failed = true;
  it->second->pending = false;
  entries_.erase(it);
  cv_.notify_all();
}

void NameRegistry::Restore(const std::string& name, const std::string& id,
                           const std::string& digest) {
  std::lock_guard lock(mu_);
  auto e = std::make_shared<Entry>();
  e->digest = digest;
  e->id = id;
  e->pending = false;
  entries_[name] = e;
}

size_t NameRegistry::Size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace berth::daemon
