#include "base/error.h"

#include <cstring>

namespace berth {

std::string Error::Message() const {
  // "context: op subject: detail: strerror" with empty parts left out.
  std::string head = op;
  if (!subject.empty()) head += (head.empty() ? "" : " ") + subject;
  std::string m = context_;
  auto add = [&m](const std::string& part) {
    if (part.empty()) return;
    if (!m.empty()) m += ": ";
    m += part;
  };
  add(head);
  add(detail);
  if (code != 0) add(std::strerror(code));
  return m;
}

Error& Error::Wrap(std::string context) {
  if (context_.empty())
    context_ = std::move(context);
  else
    context_ = std::move(context) + ": " + context_;
  return *this;
}

}  // namespace berth
