// Config text inside an error message is escaped: a value holding a newline or another
// control character must not split the one-line message users and callers read
// (found by tests/fuzz/config_fuzz.cc; its inputs are in tests/fuzz/corpus/).
#include <gtest/gtest.h>

#include "spec/parse.h"
#include "spec/validate.h"

namespace berth::spec {
namespace {

bool OneLine(const std::string& m) {
  for (unsigned char c : m)
    if (c < 0x20 || c == 0x7f) return false;
  return !m.empty();
}

TEST(SpecMessageLines, ControlCharactersInValuesAreEscaped) {
  auto spec = ParseSpec(R"({"ociVersion": "1\n.0", "root": {"path": "rootfs"},
      "process": {"cwd": "/", "args": ["sh"], "env": ["PATH\tX\u0001"]}})");
  ASSERT_TRUE(spec) << spec.error().Message();
  auto v = Validate(*spec);
  ASSERT_FALSE(v);
  EXPECT_TRUE(OneLine(v.error().Message())) << v.error().Message();
  EXPECT_NE(v.error().Message().find("\\n"), std::string::npos) << v.error().Message();
}

TEST(SpecMessageLines, ControlCharactersInKeysAreEscaped) {
  auto spec = ParseSpec(R"({"ociVersion": "1.0.2", "annotations": {"a\nb": 1}})");
  ASSERT_FALSE(spec);
  EXPECT_TRUE(OneLine(spec.error().Message())) << spec.error().Message();
}

}  // namespace
}  // namespace berth::spec
