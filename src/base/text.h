// Text from untrusted input (an image reference, a registry's header, a layer's file name,
// a CRI request) inside messages: escaped so that it cannot break a message into lines or
// send control sequences to a terminal or a log (tests/fuzz checks every parser's errors).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace berth {

// Appends s with control characters escaped: \n, \t, \r, else \xNN (also DEL).
void AppendEscaped(std::string& out, std::string_view s);
std::string EscapeText(std::string_view s);
// `"s"` escaped, its first max bytes only ("..." after the quote says it was cut).
std::string QuoteText(std::string_view s, size_t max = 256);

}  // namespace berth
