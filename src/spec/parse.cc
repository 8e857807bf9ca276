// config.json → Spec. Type errors only; semantic rules live in validate.cc.
#include "spec/parse.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/unique_fd.h"
#include "spec/json_codec.h"
#include "spec/validate_internal.h"

namespace berth::spec {
namespace internal {

namespace {

// A member name that can be printed bare (`linux.resources`); anything else is quoted.
bool IsPlainKey(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void AppendQuoted(std::string& s, std::string_view key) {
  s += "[\"";
  for (char c : key) {
    if (c == '"' || c == '\\') s += '\\';
    AppendEscaped(s, std::string_view(&c, 1));
  }
  s += "\"]";
}

}  // namespace

std::string Path::Str() const {
  if (kind_ == kRoot) return {};
  std::string s = parent_->Str();
  switch (kind_) {
    case kKey:
      if (IsPlainKey(key_)) {
        if (!s.empty()) s += '.';
        s += key_;
      } else {
        AppendQuoted(s, key_);
      }
      break;
    case kMapKey:
      AppendQuoted(s, key_);
      break;
    case kIndex:
      s += '[' + std::to_string(index_) + ']';
      break;
    case kRoot:
      break;
  }
  return s;
}

std::unexpected<Error> FieldError(const Path& p, std::string detail) {
  std::string subject = p.Str();
  if (subject.empty()) subject = "top level";
  return InvalidField(std::move(subject), std::move(detail));
}

const char* TypeName(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "an integer";
    case Json::value_t::number_float:
      return "a non-integer number";
    default:
      return "an unsupported value";
  }
}

std::unexpected<Error> TypeError(const Path& p, const char* expected, const Json& got) {
  std::string detail = std::string("expected ") + expected + ", got " + TypeName(got);
  if (got.is_number_float()) detail += " (" + got.dump() + ")";
  return FieldError(p, std::move(detail));
}

Result<Json> ParseDocument(std::string_view text) {
  // nlohmann reports syntax errors only by exception; keep them inside this function.
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    std::string what = e.what();
    // Drop the "[json.exception.parse_error.101] " tag: it means nothing to users.
    if (auto pos = what.find("] "); what.starts_with("[json.exception") && pos != what.npos)
      what.erase(0, pos + 2);
    return InvalidField("byte " + std::to_string(e.byte), "invalid JSON: " + what);
  } catch (const Json::exception& e) {
    return InvalidField("top level", std::string("invalid JSON: ") + e.what());
  }
}

Result<void> Decode(const Json& j, const Path& p, bool& out) {
  if (!j.is_boolean()) return TypeError(p, "a boolean", j);
  out = j.get<bool>();
  return {};
}

Result<void> Decode(const Json& j, const Path& p, std::string& out) {
  if (!j.is_string()) return TypeError(p, "a string", j);
  out = j.get_ref<const std::string&>();
  return {};
}

Result<void> Decode(const Json& j, const Path& p, User& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("uid", out.uid));
  BERTH_TRYV(o.Get("gid", out.gid));
  BERTH_TRYV(o.Get("umask", out.umask));
  BERTH_TRYV(o.Get("additionalGids", out.additional_gids));
  BERTH_TRYV(o.Get("username", out.username));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, Capabilities& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("bounding", out.bounding));
  BERTH_TRYV(o.Get("effective", out.effective));
  BERTH_TRYV(o.Get("inheritable", out.inheritable));
  BERTH_TRYV(o.Get("permitted", out.permitted));
  BERTH_TRYV(o.Get("ambient", out.ambient));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, Rlimit& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("type", out.type));
  BERTH_TRYV(o.Get("hard", out.hard));
  BERTH_TRYV(o.Get("soft", out.soft));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, ConsoleSize& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("height", out.height));
  BERTH_TRYV(o.Get("width", out.width));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, IoPriority& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("class", out.io_class));
  BERTH_TRYV(o.Get("priority", out.priority));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, Scheduler& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("policy", out.policy));
  BERTH_TRYV(o.Get("nice", out.nice));
  BERTH_TRYV(o.Get("priority", out.priority));
  BERTH_TRYV(o.Get("flags", out.flags));
  BERTH_TRYV(o.Get("runtime", out.runtime));
  BERTH_TRYV(o.Get("deadline", out.deadline));
  BERTH_TRYV(o.Get("period", out.period));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, Process& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("terminal", out.terminal));
  BERTH_TRYV(o.Get("consoleSize", out.console_size));
  BERTH_TRYV(o.Get("user", out.user));
  BERTH_TRYV(o.Get("args", out.args));
  BERTH_TRYV(o.Get("commandLine", out.command_line));
  BERTH_TRYV(o.Get("env", out.env));
  BERTH_TRYV(o.Get("cwd", out.cwd));
  BERTH_TRYV(o.Get("capabilities", out.capabilities));
  BERTH_TRYV(o.Get("rlimits", out.rlimits));
  BERTH_TRYV(o.Get("noNewPrivileges", out.no_new_privileges));
  BERTH_TRYV(o.Get("apparmorProfile", out.apparmor_profile));
  BERTH_TRYV(o.Get("oomScoreAdj", out.oom_score_adj));
  BERTH_TRYV(o.Get("scheduler", out.scheduler));
  BERTH_TRYV(o.Get("selinuxLabel", out.selinux_label));
  BERTH_TRYV(o.Get("ioPriority", out.io_priority));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, Root& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("path", out.path));
  BERTH_TRYV(o.Get("readonly", out.readonly));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, LinuxIdMapping& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("containerID", out.container_id));
  BERTH_TRYV(o.Get("hostID", out.host_id));
  BERTH_TRYV(o.Get("size", out.size));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, Mount& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("destination", out.destination));
  BERTH_TRYV(o.Get("type", out.type));
  BERTH_TRYV(o.Get("source", out.source));
  BERTH_TRYV(o.Get("options", out.options));
  BERTH_TRYV(o.Get("uidMappings", out.uid_mappings));
  BERTH_TRYV(o.Get("gidMappings", out.gid_mappings));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, Hook& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("path", out.path));
  BERTH_TRYV(o.Get("args", out.args));
  BERTH_TRYV(o.Get("env", out.env));
  BERTH_TRYV(o.Get("timeout", out.timeout));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, Hooks& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("prestart", out.prestart));
  BERTH_TRYV(o.Get("createRuntime", out.create_runtime));
  BERTH_TRYV(o.Get("createContainer", out.create_container));
  BERTH_TRYV(o.Get("startContainer", out.start_container));
  BERTH_TRYV(o.Get("poststart", out.poststart));
  BERTH_TRYV(o.Get("poststop", out.poststop));
  return {};
}

Result<void> Decode(const Json& j, const Path& p, Spec& out) {
  auto o = BERTH_TRY(Object::Of(j, p));
  BERTH_TRYV(o.Get("ociVersion", out.oci_version));
  BERTH_TRYV(o.Get("root", out.root));
  BERTH_TRYV(o.Get("process", out.process));
  BERTH_TRYV(o.Get("hostname", out.hostname));
  BERTH_TRYV(o.Get("domainname", out.domainname));
  BERTH_TRYV(o.Get("mounts", out.mounts));
  BERTH_TRYV(o.Get("hooks", out.hooks));
  BERTH_TRYV(o.Get("annotations", out.annotations));
  BERTH_TRYV(o.Get("linux", out.linux));
  return {};
}

}  // namespace internal

namespace {

// Parses a whole document of type T; every error carries the document's name.
template <class T>
Result<T> ParseDocumentAs(std::string_view json, std::string_view origin) {
  auto doc = internal::ParseDocument(json);
  if (!doc) {
    doc.error().Wrap(std::string(origin));
    return std::unexpected(std::move(doc.error()));
  }
  T out{};
  internal::Path root;
  if (auto r = internal::Decode(*doc, root, out); !r) {
    r.error().Wrap(std::string(origin));
    return std::unexpected(std::move(r.error()));
  }
  return out;
}

}  // namespace

Result<Spec> ParseSpec(std::string_view json, std::string_view origin) {
  return ParseDocumentAs<Spec>(json, origin);
}

Result<Process> ParseProcess(std::string_view json, std::string_view origin) {
  return ParseDocumentAs<Process>(json, origin);
}

Result<LinuxResources> ParseResources(std::string_view json, std::string_view origin) {
  return ParseDocumentAs<LinuxResources>(json, origin);
}

Result<Spec> LoadSpec(const std::string& bundle_dir) {
  std::string path = (bundle_dir.empty() ? std::string(".") : bundle_dir) + "/config.json";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Errno("open", path);
  struct stat st {};
  if (::fstat(fd.Get(), &st) != 0) return Errno("stat", path);
  // A FIFO or device here would block or never end; config.json is a plain file.
  if (!S_ISREG(st.st_mode)) return Fail("open", path, "not a regular file");
  std::string text;
  text.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (true) {
    if (done == text.size()) text.resize(text.size() + 4096);  // file grew since fstat
    ssize_t n = ::read(fd.Get(), text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("read", path);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  text.resize(done);
  return ParseSpec(text, "config.json");
}

}  // namespace berth::spec
