// berth-shim's CRI log writer: how a stream is cut into F and P records (kubelet's reader
// and containerd's writer agree on it), the timestamp, and the file with reopen.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <regex>
#include <vector>

#include "crilog/log_format.h"
#include "shim/log_writer.h"
#include "sys/fs.h"
#include "test_util.h"

namespace berth::shim {
namespace {

struct Rec {
  std::string content;
  bool partial;
  bool operator==(const Rec&) const = default;
};

struct Collect {
  std::vector<Rec> recs;
  LineSplitter::Sink Sink() {
    return [this](std::string_view c, bool p) { recs.push_back({std::string(c), p}); };
  }
};

TEST(ShimLineSplitter, WholeLinesAreFullRecords) {
  LineSplitter s;
  Collect c;
  s.Feed("one\ntwo\n\nthree\n", c.Sink());
  EXPECT_EQ((std::vector<Rec>{{"one", false}, {"two", false}, {"", false}, {"three", false}}),
            c.recs);
  EXPECT_EQ(0u, s.Held());
}

TEST(ShimLineSplitter, APartialLineIsHeldUntilItsNewline) {
  LineSplitter s;
  Collect c;
  s.Feed("hel", c.Sink());
  EXPECT_TRUE(c.recs.empty());
  EXPECT_EQ(3u, s.Held());
  s.Feed("lo wor", c.Sink());
  s.Feed("ld\nnext", c.Sink());
  EXPECT_EQ((std::vector<Rec>{{"hello world", false}}), c.recs);
  EXPECT_EQ(4u, s.Held());
}

TEST(ShimLineSplitter, ALongLineIsCutIntoPartsOfTheBound) {
  LineSplitter s;  // 16 KiB, as kubelet and containerd
  Collect c;
  std::string line(40000, 'a');
  s.Feed(line + "\n", c.Sink());
  ASSERT_EQ(3u, c.recs.size());
  EXPECT_EQ(kMaxLogLine, c.recs[0].content.size());
  EXPECT_TRUE(c.recs[0].partial);
  EXPECT_EQ(kMaxLogLine, c.recs[1].content.size());
  EXPECT_TRUE(c.recs[1].partial);
  EXPECT_EQ(40000 - 2 * kMaxLogLine, c.recs[2].content.size());
  EXPECT_FALSE(c.recs[2].partial);
  std::string joined;
  for (auto& r : c.recs) joined += r.content;
  EXPECT_EQ(line, joined);
}

TEST(ShimLineSplitter, ALineOfExactlyTheBoundIsOneFullRecord) {
  LineSplitter s(8);
  Collect c;
  s.Feed("12345678", c.Sink());
  EXPECT_TRUE(c.recs.empty()) << "8 bytes may still be followed by their newline";
  s.Feed("\n", c.Sink());
  EXPECT_EQ((std::vector<Rec>{{"12345678", false}}), c.recs);
}

TEST(ShimLineSplitter, AnUnterminatedLongLineLeavesInPartsAndTheRestIsHeld) {
  LineSplitter s(8);
  Collect c;
  s.Feed("abcdefghijklmnopqrs", c.Sink());  // 19 bytes, no newline
  EXPECT_EQ((std::vector<Rec>{{"abcdefgh", true}, {"ijklmnop", true}}), c.recs);
  EXPECT_EQ(3u, s.Held());
  s.Finish(c.Sink());
  EXPECT_EQ((Rec{"qrs", true}), c.recs.back());
}

TEST(ShimLineSplitter, TheLastUnterminatedLineIsPartialAtEof) {
  // kubelet prints a P record's content without a newline: `kubectl logs` then shows the
  // stream exactly as written (containerd writes it the same way).
  LineSplitter s;
  Collect c;
  s.Feed("done\nno newline", c.Sink());
  s.Finish(c.Sink());
  EXPECT_EQ((std::vector<Rec>{{"done", false}, {"no newline", true}}), c.recs);
  s.Finish(c.Sink());  // nothing held: nothing written
  EXPECT_EQ(2u, c.recs.size());
}

TEST(ShimLineSplitter, CarriageReturnBeforeNewlineIsDropped) {
  LineSplitter s;
  Collect c;
  s.Feed("tty line\r\nkept\rinside\n\r\n", c.Sink());
  EXPECT_EQ((std::vector<Rec>{{"tty line", false}, {"kept\rinside", false}, {"", false}}), c.recs);
}

TEST(ShimTimestamp, Rfc3339WithNineDigitsInUtc) {
  EXPECT_EQ("2016-10-06T00:17:09.669794202Z", FormatTimestamp(1475713029669794202LL));
  EXPECT_EQ("1970-01-01T00:00:00.000000000Z", FormatTimestamp(0));
  EXPECT_EQ("2000-02-29T23:59:59.000000001Z", FormatTimestamp(951868799000000001LL));
  std::regex re(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$)");
  EXPECT_TRUE(std::regex_match(FormatTimestamp(NowNs()), re));
}

std::vector<std::string> Lines(const std::string& path) {
  std::vector<std::string> out;
  auto text = sys::ReadFile(path);
  if (!text) return out;
  size_t pos = 0;
  while (pos < text->size()) {
    size_t nl = text->find('\n', pos);
    EXPECT_NE(std::string::npos, nl) << "every record ends with a newline";
    if (nl == std::string::npos) break;
    out.push_back(text->substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

TEST(ShimLogFile, WritesRecordsKubeletParsesForBothStreams) {
  testutil::TempDir dir("shim-log");
  const std::string path = dir.Sub("c.log");
  auto f = LogFile::Open(path);
  ASSERT_TRUE(f) << f.error().Message();
  f->Write(false, "to stdout", false);
  f->Write(true, "to stderr", false);
  f->Write(false, "part", true);
  f->Write(false, "", false);
  struct stat st {};
  ASSERT_EQ(0, stat(path.c_str(), &st));
  EXPECT_EQ(0640u, st.st_mode & 0777);

  auto lines = Lines(path);
  ASSERT_EQ(4u, lines.size());
  auto r0 = crilog::ParseLogLine(lines[0]), r1 = crilog::ParseLogLine(lines[1]),
       r2 = crilog::ParseLogLine(lines[2]), r3 = crilog::ParseLogLine(lines[3]);
  ASSERT_TRUE(r0 && r1 && r2 && r3) << lines[0];
  EXPECT_FALSE(r0->stderr_stream);
  EXPECT_EQ("to stdout", r0->content);
  EXPECT_FALSE(r0->partial);
  EXPECT_TRUE(r1->stderr_stream);
  EXPECT_EQ("to stderr", r1->content);
  EXPECT_TRUE(r2->partial);
  EXPECT_EQ("part", r2->content);
  EXPECT_EQ("", r3->content);
  EXPECT_NE(std::string::npos, lines[1].find(" stderr F to stderr"));
}

TEST(ShimLogFile, ReopenWritesToTheNewFileAfterARename) {
  testutil::TempDir dir("shim-log");
  const std::string path = dir.Sub("c.log"), rotated = dir.Sub("c.log.1");
  auto f = LogFile::Open(path);
  ASSERT_TRUE(f);
  f->Write(false, "before", false);
  ASSERT_EQ(0, rename(path.c_str(), rotated.c_str()));
  f->Write(false, "still old", false);  // until reopened, the old file
  ASSERT_TRUE(f->Reopen());
  f->Write(false, "after", false);
  auto old_lines = Lines(rotated), new_lines = Lines(path);
  ASSERT_EQ(2u, old_lines.size());
  ASSERT_EQ(1u, new_lines.size());
  EXPECT_NE(std::string::npos, new_lines[0].find("stdout F after"));
}

TEST(ShimLogFile, OpenAndReopenFailuresAreErrorsAndKeepTheOldFile) {
  testutil::TempDir dir("shim-log");
  auto missing = LogFile::Open(dir.Sub("no/such/dir/c.log"));
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().IsNotFound()) << missing.error().Message();

  const std::string sub = dir.Sub("d");
  ASSERT_EQ(0, mkdir(sub.c_str(), 0755));
  auto f = LogFile::Open(sub + "/c.log");
  ASSERT_TRUE(f);
  ASSERT_TRUE(sys::RemoveTree(sub));
  auto r = f->Reopen();
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().IsNotFound());
  f->Write(false, "goes to the unlinked file, does not crash", false);

  auto discard = LogFile::Open("");
  ASSERT_TRUE(discard);
  discard->Write(false, "dropped", false);
  EXPECT_TRUE(discard->Reopen());
}

}  // namespace
}  // namespace berth::shim
