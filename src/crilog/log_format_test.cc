#include "crilog/log_format.h"

#include <gtest/gtest.h>

namespace berth::crilog {
namespace {

TEST(CriLogFormat, ParsesFullPartialAndEmptyRecords) {
  auto full = ParseLogLine("2024-01-02T03:04:05.123456789Z stdout F hello world");
  ASSERT_TRUE(full);
  EXPECT_FALSE(full->stderr_stream);
  EXPECT_FALSE(full->partial);
  EXPECT_EQ("hello world", full->content);
  EXPECT_EQ("2024-01-02T03:04:05.123456789Z", full->timestamp);

  auto part = ParseLogLine("2024-01-02T03:04:05Z stderr P part ");
  ASSERT_TRUE(part);
  EXPECT_TRUE(part->stderr_stream);
  EXPECT_TRUE(part->partial);
  EXPECT_EQ("part ", part->content);

  auto empty = ParseLogLine("2024-01-02T03:04:05Z stdout F");
  ASSERT_TRUE(empty);
  EXPECT_EQ("", empty->content);

  auto tagged = ParseLogLine("2024-01-02T03:04:05Z stdout F:x y");
  ASSERT_TRUE(tagged);
  EXPECT_EQ("y", tagged->content);
}

TEST(CriLogFormat, RejectsOtherLines) {
  EXPECT_FALSE(ParseLogLine("plain text"));
  EXPECT_FALSE(ParseLogLine("2024-01-02T03:04:05Z stdin F x"));
  EXPECT_FALSE(ParseLogLine("2024-01-02T03:04:05Z stdout X x"));
  EXPECT_FALSE(ParseLogLine(""));
}

TEST(CriLogFormat, FormatsRecordsTheParserReadsBack) {
  EXPECT_EQ("2024-01-02T03:04:05Z stdout F hello\n",
            FormatLogLine({"2024-01-02T03:04:05Z", false, false, "hello"}));
  std::string line = FormatLogLine({"2024-01-02T03:04:05.5Z", true, true, "a b "});
  EXPECT_EQ("2024-01-02T03:04:05.5Z stderr P a b \n", line);
  line.pop_back();
  auto back = ParseLogLine(line);
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->stderr_stream);
  EXPECT_TRUE(back->partial);
  EXPECT_EQ("a b ", back->content);
  std::string empty = FormatLogLine({"2024-01-02T03:04:05Z", false, false, ""});
  empty.pop_back();
  auto e = ParseLogLine(empty);
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->partial);
  EXPECT_EQ("", e->content);
}

}  // namespace
}  // namespace berth::crilog
