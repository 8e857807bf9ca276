// attach (for the CRI's Attach): berthd gets, with the answer (SCM_RIGHTS), the read end of
// a new pipe per output stream, into which the shim copies the container's output as it
// reads it for the log, and for stdin a dup of the container's stdin pipe (with a terminal:
// a dup of the pty master, which also lets berthd resize it). The copy never waits: a pipe
// that is full drops the rest of a chunk, so a slow attacher never holds back the container
// or its log. Several attachments at once; each ends at the container's exit (its pipes are
// closed after what the exit drained, then the frame {"exit": {...}}) or when berthd closes
// the connection (a detach: the container runs on). stdin_once: the container's stdin is
// closed when the first attachment that took it closes stdin (a close_stdin frame) or ends.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "base/log.h"
#include "shim/server.h"

namespace berth::shim {

namespace {

constexpr size_t kMaxAttachments = 64;

std::string Quote(const std::string& id) { return "\"" + id + "\""; }

}  // namespace

void Server::OpAttach(uint64_t conn, const Json& req) {
  auto fail = [&](const Error& e) { ReplyError(conn, e); };
  auto id = GetString(req, "id");
  if (!id) return fail(id.error());
  auto in = GetBool(req, "stdin"), out = GetBool(req, "stdout"), err = GetBool(req, "stderr");
  for (auto* b : {&in, &out, &err})
    if (!*b) return fail(b->error());
  auto found = Find(*id, "attach");
  if (!found) return fail(found.error());
  Container& c = **found;
  const std::string q = Quote(*id);
  if (c.status != Status::kCreated && c.status != Status::kRunning)
    return fail(FailedPrecondition("attach", q,
                                   c.status == Status::kStopped ? "container has exited"
                                                                : "container is being created")
                    .error());
  if (c.adopted)
    return fail(FailedPrecondition("attach", q,
                                   "its stdio went with the shim that created it (this shim "
                                   "found it on disk after a restart)")
                    .error());
  if (*in && !c.rec.stdin)
    return fail(FailedPrecondition("attach", q, "the container was created without stdin").error());
  if (*in && c.stdin_closed)
    return fail(FailedPrecondition("attach", q,
                                   "its stdin was closed when its first attachment ended "
                                   "(stdin_once)")
                    .error());
  if (attachments_.size() >= kMaxAttachments)
    return fail(ResourceExhausted("attach", q,
                                  std::to_string(kMaxAttachments) +
                                      " attachments are open in this shim")
                    .error());

  Attachment a;
  a.id = next_attach_++;
  a.container = *id;
  a.conn = conn;
  a.stdin = *in;
  std::vector<std::string> names;
  std::vector<UniqueFd> fds;
  auto pipe_for = [&](UniqueFd& keep, const char* name) -> Result<void> {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return Errno("pipe2", name);
    keep.Reset(p[1]);
    fds.emplace_back(p[0]);
    names.push_back(name);
    if (fcntl(p[1], F_SETFL, O_NONBLOCK) < 0) return Errno("fcntl O_NONBLOCK", name);
    return {};
  };
  auto dup_of = [&](int fd, const char* name) -> Result<void> {
    int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (d < 0) return Errno("dup", name);
    fds.emplace_back(d);
    names.push_back(name);
    return {};
  };
  Result<void> r = {};
  if (*out) r = pipe_for(a.out_w, "stdout");
  if (r && *err && !c.rec.tty) r = pipe_for(a.err_w, "stderr");
  if (r && c.rec.tty && c.out.fd) {
    r = dup_of(c.out.fd.Get(), "tty");
    c.master_shared = true;
  } else if (r && *in && !c.rec.tty) {
    if (!c.stdin_w)
      r = FailedPrecondition("attach", q, "the container's stdin is closed");
    else
      r = dup_of(c.stdin_w.Get(), "stdin");
  }
  if (!r) return fail(r.error().Wrap("attach " + q));

  const uint64_t aid = a.id;
  attachments_.emplace(aid, std::move(a));
  c.attachments.push_back(aid);
  if (auto it = conns_.find(conn); it != conns_.end()) it->second->attachment = aid;
  log::Debug("attach " + q + ": attachment " + std::to_string(aid));
  ReplyWithFds(conn, {{"fds", names}, {"tty", c.rec.tty}}, std::move(fds));
}

void Server::Fanout(Container& c, bool is_stderr, const char* data, size_t n) {
  for (uint64_t aid : c.attachments) {
    auto it = attachments_.find(aid);
    if (it == attachments_.end()) continue;
    Attachment& a = it->second;
    UniqueFd& w = is_stderr ? a.err_w : a.out_w;
    if (!w) continue;
    ssize_t k;
    do {
      k = write(w.Get(), data, n);
    } while (k < 0 && errno == EINTR);
    if (k < 0 && errno == EPIPE) {
      w.Reset();  // berthd closed its end: nothing more for this stream
      continue;
    }
    if (k < 0) k = 0;  // EAGAIN: full
    a.dropped += n - static_cast<size_t>(k);
  }
}

void Server::EndAttachments(Container& c, const Json& exit) {
  for (uint64_t aid : std::exchange(c.attachments, {})) {
    auto it = attachments_.find(aid);
    if (it == attachments_.end()) continue;
    Attachment a = std::move(it->second);
    attachments_.erase(it);
    if (a.dropped > 0)
      log::Info("attach " + Quote(a.container) + ": " + std::to_string(a.dropped) +
                " bytes dropped for a slow attacher");
    // Closed before the frame: berthd reads what the pipes hold, then EOF, then the frame.
    a.out_w.Reset();
    a.err_w.Reset();
    auto conn = conns_.find(a.conn);
    if (conn == conns_.end()) continue;
    Conn& cn = *conn->second;
    cn.attachment = 0;
    cn.close_after_write = true;
    SendFrame(cn, Json{{"exit", exit}}.dump());
  }
}

void Server::DropAttachment(uint64_t attach_id) {
  auto it = attachments_.find(attach_id);
  if (it == attachments_.end()) return;
  Attachment a = std::move(it->second);
  attachments_.erase(it);
  log::Debug("attach " + Quote(a.container) + ": attachment " + std::to_string(attach_id) +
             " detached");
  auto ctr = containers_.find(a.container);
  if (ctr == containers_.end()) return;
  Container& c = *ctr->second;
  std::erase(c.attachments, attach_id);
  if (a.stdin && c.rec.stdin_once && !c.stdin_closed) {
    c.stdin_closed = true;
    c.stdin_w.Reset();
    log::Info("attach " + Quote(a.container) + ": stdin closed (stdin_once)");
  }
}

void Server::OpCloseStdin(Conn& conn) {
  auto it = attachments_.find(conn.attachment);
  if (it == attachments_.end() || !it->second.stdin) return;
  Attachment& a = it->second;
  a.stdin = false;
  auto ctr = containers_.find(a.container);
  if (ctr == containers_.end()) return;
  Container& c = *ctr->second;
  // Without stdin_once the shim's copy keeps the container's stdin open for the next attach.
  if (!c.rec.stdin_once || c.stdin_closed) return;
  c.stdin_closed = true;
  c.stdin_w.Reset();
  log::Info("attach " + Quote(a.container) + ": stdin closed by its attacher (stdin_once)");
}

}  // namespace berth::shim
