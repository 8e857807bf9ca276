#include <gtest/gtest.h>
#include <signal.h>

#include "cli/berth/flags.h"
#include "sys/process.h"

namespace berth {
namespace {

struct Opts {
  std::string root, bundle;
  bool detach = false, debug = false;
  int fds = 0;
  std::vector<std::string> env;
};

cli::FlagSet MakeFlags(Opts& o) {
  cli::FlagSet f("test");
  f.String("root", &o.root, "");
  f.String("b,bundle", &o.bundle, "");
  f.Bool("d,detach", &o.detach, "");
  f.Bool("debug", &o.debug, "");
  f.Int("preserve-fds", &o.fds, "");
  f.StringList("e,env", &o.env, "");
  f.Ignored("criu", true, "");
  return f;
}

TEST(CliFlags, LongOptionsWorkWithOneOrTwoDashesAndEquals) {
  Opts o;
  auto f = MakeFlags(o);
  auto pos = f.Parse({"-root", "/run/x", "--bundle=/b", "-d", "--preserve-fds", "2", "-e", "A=1",
                      "--env=B=2", "--criu", "/usr/sbin/criu", "id"});
  ASSERT_TRUE(pos) << pos.error().Message();
  EXPECT_EQ(o.root, "/run/x");
  EXPECT_EQ(o.bundle, "/b");
  EXPECT_TRUE(o.detach);
  EXPECT_EQ(o.fds, 2);
  EXPECT_EQ(o.env, (std::vector<std::string>{"A=1", "B=2"}));
  EXPECT_EQ(*pos, std::vector<std::string>{"id"});
}

TEST(CliFlags, ParsingStopsAtTheFirstPositionalArgument) {
  // `berth exec ID sh -c 'x' --not-ours` passes everything after ID to the process.
  Opts o;
  auto f = MakeFlags(o);
  auto pos = f.Parse({"--debug=false", "id", "sh", "-d", "--env", "x"});
  ASSERT_TRUE(pos);
  EXPECT_FALSE(o.debug);
  EXPECT_FALSE(o.detach);
  EXPECT_EQ(*pos, (std::vector<std::string>{"id", "sh", "-d", "--env", "x"}));
  auto after_dashes = f.Parse({"--", "-d"});
  ASSERT_TRUE(after_dashes);
  EXPECT_EQ(*after_dashes, std::vector<std::string>{"-d"});
}

TEST(CliFlags, ErrorsNameTheFlag) {
  Opts o;
  auto f = MakeFlags(o);
  auto unknown = f.Parse({"--bogus", "id"});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().Message().find("--bogus"), std::string::npos);
  auto missing = f.Parse({"--root"});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().Message().find("needs an argument"), std::string::npos);
  auto bad_int = f.Parse({"--preserve-fds", "two"});
  ASSERT_FALSE(bad_int);
  EXPECT_NE(bad_int.error().Message().find("two"), std::string::npos);
  auto bad_bool = f.Parse({"--detach=maybe"});
  ASSERT_FALSE(bad_bool);
}

TEST(Signals, NamesWithOrWithoutSigAndNumbers) {
  EXPECT_EQ(sys::ParseSignal("KILL").value_or(-1), SIGKILL);
  EXPECT_EQ(sys::ParseSignal("SIGTERM").value_or(-1), SIGTERM);
  EXPECT_EQ(sys::ParseSignal("sigusr1").value_or(-1), SIGUSR1);
  EXPECT_EQ(sys::ParseSignal("9").value_or(-1), 9);
  EXPECT_EQ(sys::ParseSignal("RTMIN+2").value_or(-1), SIGRTMIN + 2);
  EXPECT_FALSE(sys::ParseSignal("SIGFOO"));
  EXPECT_FALSE(sys::ParseSignal("0"));
  EXPECT_FALSE(sys::ParseSignal("999"));
  EXPECT_FALSE(sys::ParseSignal(""));
  EXPECT_EQ(sys::SignalName(SIGKILL), "SIGKILL");
}

}  // namespace
}  // namespace berth
