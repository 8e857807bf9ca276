#include "base/text.h"

namespace berth {

void AppendEscaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : s) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else if (c < 0x20 || c == 0x7f)
      out += std::string("\\x") + kHex[c >> 4] + kHex[c & 15];
    else
      out += static_cast<char>(c);
  }
}

std::string EscapeText(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  AppendEscaped(out, s);
  return out;
}

std::string QuoteText(std::string_view s, size_t max) {
  std::string out = "\"";
  AppendEscaped(out, s.substr(0, max));
  out += '"';
  if (s.size() > max) out += "...";
  return out;
}

}  // namespace berth
