#include "image/limits.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>

#include <toml++/toml.h>

#include "sys/fs.h"

namespace berth::image {
namespace {

enum class Unit { kSize, kCount, kPercent };

struct Key {
  std::string_view name;
  int64_t Limits::*field;
  Unit unit;
};

constexpr Key kKeys[] = {
    {"max_layer_size", &Limits::max_layer_size, Unit::kSize},
    {"max_image_size", &Limits::max_image_size, Unit::kSize},
    {"max_layer_entries", &Limits::max_layer_entries, Unit::kCount},
    {"max_manifest_size", &Limits::max_manifest_size, Unit::kSize},
    {"max_config_size", &Limits::max_config_size, Unit::kSize},
    {"max_compression_ratio", &Limits::max_compression_ratio, Unit::kCount},
    {"min_free_bytes", &Limits::min_free_bytes, Unit::kSize},
    {"min_free_percent", &Limits::min_free_percent, Unit::kPercent},
};

const Key* FindKey(std::string_view name) {
  for (const auto& k : kKeys)
    if (k.name == name) return &k;
  return nullptr;
}

std::string Trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

Result<int64_t> ParseCount(std::string_view text, std::string_view key) {
  std::string t = Trimmed(text);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || p != t.data() + t.size() || v < 0)
    return InvalidField(std::string(key), "\"" + t + "\" is not a non-negative integer");
  return v;
}

}  // namespace

const std::vector<std::string_view>& LimitKeys() {
  static const std::vector<std::string_view> keys = [] {
    std::vector<std::string_view> v;
    for (const auto& k : kKeys) v.push_back(k.name);
    return v;
  }();
  return keys;
}

std::string LimitDefaultText(std::string_view key) {
  const Key* k = FindKey(key);
  if (!k) return "";
  Limits d;
  int64_t v = d.*(k->field);
  switch (k->unit) {
    case Unit::kSize:
      return FormatSize(v);
    case Unit::kPercent:
      return std::to_string(v) + "%";
    case Unit::kCount:
      break;
  }
  return std::to_string(v);
}

Result<int64_t> ParseSize(std::string_view text) {
  std::string t = Trimmed(text);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || v < 0)
    return InvalidArgument("size", "\"" + t + "\"", "not a size (bytes, or a number with K, M, G or T)");
  std::string unit = Trimmed(std::string_view(p, t.data() + t.size() - p));
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  int shift = -1;
  if (unit.empty() || unit == "B") shift = 0;
  for (auto [suffix, s] : {std::pair{"K", 10}, {"M", 20}, {"G", 30}, {"T", 40}}) {
    std::string sfx = suffix;
    if (unit == sfx || unit == sfx + "I" || unit == sfx + "B" || unit == sfx + "IB") shift = s;
  }
  if (shift < 0)
    return InvalidArgument("size", "\"" + t + "\"", "unknown unit \"" + unit + "\" (K, M, G, T: powers of 1024)");
  if (shift > 0 && v > (INT64_MAX >> shift))
    return InvalidArgument("size", "\"" + t + "\"", "too large");
  return v << shift;
}

std::string FormatSize(int64_t bytes) {
  static const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  double v = static_cast<double>(bytes);
  int u = -1;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (std::fabs(v - std::round(v)) < 0.05)
    std::snprintf(buf, sizeof buf, "%.0f %s", v, kUnits[u]);
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  return buf;
}

Result<void> SetLimit(Limits& limits, std::string_view key, std::string_view value) {
  const Key* k = FindKey(key);
  if (!k) return InvalidArgument("image limit", std::string(key), "no such limit");
  int64_t v = 0;
  switch (k->unit) {
    case Unit::kSize: {
      auto s = ParseSize(value);
      if (!s) return InvalidField(std::string(key), s.error().detail);
      v = *s;
      break;
    }
    case Unit::kCount:
      v = BERTH_TRY(ParseCount(value, key));
      break;
    case Unit::kPercent: {
      std::string t = Trimmed(value);
      if (!t.empty() && t.back() == '%') t.pop_back();
      v = BERTH_TRY(ParseCount(t, key));
      if (v > 100) return InvalidField(std::string(key), "a percentage of 0 to 100");
      break;
    }
  }
  limits.*(k->field) = v;
  return {};
}

Result<void> ParseLimitsToml(Limits& limits, std::string_view text, const std::string& file) {
  toml::table doc;
  try {
    doc = toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    return InvalidArgument("config", file + ":" + std::to_string(b.line) + ":" + std::to_string(b.column),
                           std::string(e.description()));
  }
  const toml::node* n = doc.get("image");
  if (!n) return {};
  const toml::table* t = n->as_table();
  if (!t) return InvalidArgument("config", file, "[image] is not a table");
  for (const auto& [name, value] : *t) {
    std::string key(name.str());
    std::string where = file + " [image] " + key;
    if (!FindKey(key))
      return InvalidArgument("config", where, "unknown key (known: max_layer_size, max_image_size, "
                             "max_layer_entries, max_manifest_size, max_config_size, "
                             "max_compression_ratio, min_free_bytes, min_free_percent)");
    std::string text_value;
    if (auto i = value.as_integer()) {
      text_value = std::to_string(i->get());
    } else if (auto s = value.as_string()) {
      text_value = s->get();
    } else {
      return InvalidArgument("config", where, "must be an integer or a string such as \"16GiB\"");
    }
    auto r = SetLimit(limits, key, text_value);
    if (!r) return InvalidArgument("config", where, r.error().detail);
  }
  return {};
}

Result<void> LoadLimits(Limits& limits, const std::string& path, bool must_exist) {
  auto text = sys::ReadFile(path);
  if (!text) {
    if (text.error().IsNotFound() && !must_exist) return {};
    return std::unexpected(text.error().Wrap("config"));
  }
  return ParseLimitsToml(limits, *text, path);
}

Result<void> SpaceFloor::Check(int fd, int64_t n, const std::string& what) {
  if (Off()) return {};
  unchecked_ += n;
  if (unchecked_ < kCheckEvery) return {};
  int64_t pending = unchecked_;
  unchecked_ = 0;
  struct statvfs st;
  if (::fstatvfs(fd, &st) < 0) return Errno("statvfs", what);
  // f_bavail: what an unprivileged user (kubelet's eviction manager) sees as free.
  int64_t free_bytes = static_cast<int64_t>(st.f_bavail) * static_cast<int64_t>(st.f_frsize);
  int64_t size = static_cast<int64_t>(st.f_blocks) * static_cast<int64_t>(st.f_frsize);
  int64_t floor = std::max(min_bytes_, size / 100 * min_percent_);
  if (free_bytes - pending >= floor) return {};
  return ResourceExhausted(
      "write", what,
      "the store's filesystem would fall below its free-space floor of " + FormatSize(floor) +
          " (min_free_bytes " + FormatSize(min_bytes_) + ", min_free_percent " +
          std::to_string(min_percent_) + "% of " + FormatSize(size) + "); " +
          FormatSize(free_bytes) + " free");
}

}  // namespace berth::image
