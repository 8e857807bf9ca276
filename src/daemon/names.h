// Names of pods and containers, reserved for the time an object exists — and the answer to
// kubelet's retry. kubelet gives up on RunPodSandbox/CreateContainer after 2 minutes and
// calls again with the same metadata while the first call may still run; containerd then
// answers "name is reserved" for ever (containerd #4604). Here the retry joins the first
// call: it waits for it and gets its id, and a retry after the first call finished gets the
// id it made — when the request is the same (same digest). A different request for a taken
// name is kAlreadyExists naming the holder.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/error.h"

namespace berth::daemon {

// How long a retry waits for the call it joins: under kubelet's own 2-minute timeout, so
// kubelet gets an answer (the id, or DEADLINE_EXCEEDED to call again) before it gives up.
inline constexpr std::chrono::seconds kRetryJoinWait{100};

class NameRegistry {
 public:
  // What Reserve tells the caller to do.
  struct Claim {
    bool owner = false;  // make the object, then Commit or Release
    std::string id;      // !owner: the id the same request made (or is making and made)
  };

  // `what` ("pod sandbox", "container") is for messages. `request_digest` identifies the
  // request (the serialized config). Waits up to `wait` for a pending operation of the same
  // request; kDeadlineExceeded when it is still running then (the caller's retry will
  // come again), kAborted when that operation failed (the caller may retry at once).
  Result<Claim> Reserve(const std::string& name, const std::string& request_digest,
                        const std::string& what, std::chrono::milliseconds wait);
  // The owner made the object `id`.
  void Commit(const std::string& name, const std::string& id);
  // The owner failed (or the object was removed): the name is free again.
  void Release(const std::string& name);
  // At start-up, from the records on disk.
  void Restore(const std::string& name, const std::string& id, const std::string& digest);
  size_t Size() const;

 private:
  struct Entry {
    std::string digest;
    std::string id;  // "" while pending
    bool pending = true;
    bool failed = false;
  };
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
};

}  // namespace berth::daemon
