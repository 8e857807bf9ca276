// Reference grammar (distribution/reference, as docker and containerd accept it):
//   reference := name [ ":" tag ] [ "@" digest ]
//   name      := [ domain "/" ] path-component ( "/" path-component )*
//   domain    := host [ ":" port ]      host := dns-name | "[" ipv6 "]"
// written as a hand parser: the inputs are short and a parser can say which rule broke,
// where a regular expression only says "invalid reference format".
#include "image/reference.h"

#include "base/text.h"
#include "image/digest.h"

namespace berth::image {
namespace {

constexpr size_t kMaxNameLength = 255;  // distribution's NameTotalLengthMax
constexpr size_t kMaxTagLength = 128;
constexpr std::string_view kDockerDomain = "docker.io";
constexpr std::string_view kLegacyDockerDomain = "index.docker.io";

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsWordChar(char c) { return IsAlnum(c) || c == '_'; }

bool HasUpper(std::string_view s) {
  for (char c : s)
    if (c >= 'A' && c <= 'Z') return true;
  return false;
}

// A 64-hex string is an image ID, which docker refuses as a name so that the two can
// never be confused.
bool IsImageId(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// path-component := [a-z0-9]+ ( separator [a-z0-9]+ )*, separator := "." | "_" | "__" | "-"+
bool ValidPathComponent(std::string_view c) {
  size_t i = 0;
  if (c.empty() || !IsLowerAlnum(c[0])) return false;
  while (i < c.size()) {
    while (i < c.size() && IsLowerAlnum(c[i])) ++i;
    if (i == c.size()) return true;
    if (c[i] == '.') {
      ++i;
    } else if (c[i] == '_') {
      ++i;
      if (i < c.size() && c[i] == '_') ++i;
    } else if (c[i] == '-') {
      while (i < c.size() && c[i] == '-') ++i;
    } else {
      return false;
    }
    // A separator must be followed by more alphanumerics.
    if (i == c.size() || !IsLowerAlnum(c[i])) return false;
  }
  return true;
}

// dns-label := [A-Za-z0-9] ( [A-Za-z0-9-]* [A-Za-z0-9] )?
bool ValidDomainLabel(std::string_view l) {
  if (l.empty() || !IsAlnum(l.front()) || !IsAlnum(l.back())) return false;
  for (char c : l)
    if (!IsAlnum(c) && c != '-') return false;
  return true;
}

// Why `domain` is not host[:port], or empty when it is.
std::string DomainProblem(std::string_view domain) {
  std::string_view host = domain, port;
  if (!domain.empty() && domain.front() == '[') {
    size_t close = domain.find(']');
    if (close == std::string_view::npos) return "unterminated IPv6 address";
    std::string_view ip = domain.substr(1, close - 1);
    if (ip.empty()) return "empty IPv6 address";
    for (char c : ip)
      if (!(IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':'))
        return "invalid IPv6 address";
    host = domain.substr(0, close + 1);
    std::string_view rest = domain.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return "unexpected text after the IPv6 address";
      port = rest.substr(1);
      if (port.empty()) return "empty port";
    }
  } else {
    size_t colon = domain.find(':');
    if (colon != std::string_view::npos) {
      host = domain.substr(0, colon);
      port = domain.substr(colon + 1);
      if (port.empty()) return "empty port";
    }
    if (host.empty()) return "empty host";
    size_t start = 0;
    while (true) {
      size_t dot = host.find('.', start);
      std::string_view label =
          host.substr(start, dot == std::string_view::npos ? dot : dot - start);
      if (!ValidDomainLabel(label))
        return "host label " + QuoteText(label) + " must be letters, digits and inner '-'";
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
  }
  for (char c : port)
    if (!IsDigit(c)) return "port " + QuoteText(port) + " is not a number";
  return {};
}

// tag := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
std::string TagProblem(std::string_view tag) {
  if (tag.empty()) return "empty tag after ':'";
  if (tag.size() > kMaxTagLength)
    return "tag is " + std::to_string(tag.size()) + " characters (at most 128)";
  if (!IsWordChar(tag[0]))
    return "tag " + QuoteText(tag) + " must start with a letter, digit or '_'";
  for (char c : tag)
    if (!IsWordChar(c) && c != '.' && c != '-')
      return "tag " + QuoteText(tag) + " may only hold letters, digits, '_', '.' and '-'";
  return {};
}

bool IsDomain(std::string_view first) {
  // docker also treats a first component with uppercase letters as a domain: such a
  // component could never be a path, so "Foo/bar" fails as a host rather than as a path.
  return first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
         HasUpper(first);
}

}  // namespace

std::string Reference::String() const {
  std::string s = Repository();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

std::string Reference::Familiar() const {
  if (domain != kDockerDomain) return String();
  std::string_view name = path;
  constexpr std::string_view kLibrary = "library/";
  if (name.starts_with(kLibrary) && name.find('/', kLibrary.size()) == std::string_view::npos)
    name.remove_prefix(kLibrary.size());
  // "docker.io/a.b/c" cannot drop its domain: "a.b/c" would name the registry a.b.
  size_t slash = name.find('/');
  std::string s = slash != std::string_view::npos && IsDomain(name.substr(0, slash))
                      ? std::string(kDockerDomain) + "/" + std::string(name)
                      : std::string(name);
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

Result<Reference> ParseReference(std::string_view text) {
  std::string quoted = QuoteText(text, 300);
  auto fail = [&](std::string why) { return InvalidArgument("parse reference", quoted, std::move(why)); };
  if (text.empty()) return fail("empty reference");
  if (IsImageId(text)) return fail("a 64-hex string is an image ID, not a repository name");

  Reference ref;
  std::string_view name = text;
  if (size_t at = text.find('@'); at != std::string_view::npos) {
    std::string_view digest = text.substr(at + 1);
    if (auto ok = ValidateDigest(digest); !ok)
      return fail("invalid digest " + QuoteText(digest.substr(0, 160)) + ": " + ok.error().detail);
    ref.digest = digest;
    name = text.substr(0, at);
  }

  std::string_view remainder = name;
  if (size_t slash = name.find('/');
      slash != std::string_view::npos && IsDomain(name.substr(0, slash))) {
    std::string_view domain = name.substr(0, slash);
    if (std::string why = DomainProblem(domain); !why.empty())
      return fail("invalid domain " + QuoteText(domain) + ": " + why);
    ref.domain = domain == kLegacyDockerDomain ? kDockerDomain : domain;
    remainder = name.substr(slash + 1);
  } else {
    ref.domain = kDockerDomain;
  }

  // With the domain gone, any ':' left separates the tag.
  std::string_view path = remainder;
  if (size_t colon = remainder.find(':'); colon != std::string_view::npos) {
    std::string_view tag = remainder.substr(colon + 1);
    if (std::string why = TagProblem(tag); !why.empty()) return fail(why);
    ref.tag = tag;
    path = remainder.substr(0, colon);
  }

  if (path.empty()) return fail("empty repository name");
  if (HasUpper(path))
    return fail("repository name " + QuoteText(path) + " must be lowercase");
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    std::string_view comp =
        path.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (!ValidPathComponent(comp))
      return fail("path component " + QuoteText(comp) +
                  " must be lowercase letters and digits, separated by '.', '_', '__' or '-'");
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (ref.domain == kDockerDomain && path.find('/') == std::string_view::npos)
    ref.path = "library/" + std::string(path);
  else
    ref.path = path;

  if (size_t n = ref.Repository().size(); n > kMaxNameLength)
    return fail("repository name " + QuoteText(ref.Repository(), 64) + " is " +
                std::to_string(n) + " characters (at most 255)");
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

}  // namespace berth::image
