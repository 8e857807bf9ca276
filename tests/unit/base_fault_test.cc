// fault points (base/fault.h): BERTH_FAULT parsed, the Nth reach fires and only that one,
// the stamp file making one death per round, and docs/testing.md listing exactly the catalogue.
#include "base/fault.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "test_util.h"

namespace berth::fault {
namespace {

// Sets the environment for one test and puts it back (unset) after.
class FaultEnv {
 public:
  FaultEnv(const char* spec, const std::string& stamp = "") {
    setenv("BERTH_FAULT", spec, 1);
    if (stamp.empty()) unsetenv("BERTH_FAULT_STAMP");
    else setenv("BERTH_FAULT_STAMP", stamp.c_str(), 1);
    ReloadForTest();
  }
  ~FaultEnv() {
    unsetenv("BERTH_FAULT");
    unsetenv("BERTH_FAULT_STAMP");
    ReloadForTest();
  }
};

size_t IndexOf(std::string_view name) {
  for (size_t i = 0; i < kPoints; ++i)
    if (kCatalogue[i].name == name) return i;
  return kPoints;
}

TEST(Fault, PointsAreFoundAtCompileTime) {
  constexpr Point p("pod.cni.add.before");
  static_assert(p.info().name == "pod.cni.add.before");
  static_assert(p.info().process == "berthd");
  EXPECT_EQ(p.index(), IndexOf("pod.cni.add.before"));
  // Point("no.such.point.before") does not compile: NameNotInCatalogue is not constexpr.
}

TEST(Fault, EveryPointHasItsPair) {
  // Each durable write or external call is bracketed: X.before exists iff X.after does.
  for (const auto& p : kCatalogue) {
    std::string n(p.name);
    std::string other = n.ends_with(".before") ? n.substr(0, n.size() - 7) + ".after"
                                               : n.substr(0, n.size() - 6) + ".before";
    EXPECT_LT(IndexOf(other), kPoints) << n << " has no " << other;
    EXPECT_FALSE(p.what.empty()) << n;
  }
}

TEST(Fault, ParsePlanReadsNamesAndCounts) {
  Plan plan;
  std::string err;
  ASSERT_TRUE(ParsePlan("pod.cni.add.before@3,shim.runtime.start.after", plan, err)) << err;
  EXPECT_EQ(plan.nth[IndexOf("pod.cni.add.before")], 3);
  EXPECT_EQ(plan.nth[IndexOf("shim.runtime.start.after")], 1);
  EXPECT_EQ(plan.nth[IndexOf("pod.cni.add.after")], 0);
  ASSERT_TRUE(ParsePlan("", plan, err));
}

TEST(Fault, ParsePlanRefusesWhatIsNotAPoint) {
  struct {
    const char* spec;
    const char* says;
  } cases[] = {
      {"pod.cni.add", "\"pod.cni.add\" is not a fault point"},
      {"nosuch.before@2", "\"nosuch.before\" is not a fault point"},
      {"pod.cni.add.before@", "the count after @ must be a number from 1"},
      {"pod.cni.add.before@0", "the count after @ must be a number from 1"},
      {"pod.cni.add.before@x", "the count after @ must be a number from 1"},
      {"pod.cni.add.before@-1", "the count after @ must be a number from 1"},
  };
  for (const auto& c : cases) {
    Plan plan;
    std::string err;
    EXPECT_FALSE(ParsePlan(c.spec, plan, err)) << c.spec;
    EXPECT_NE(err.find(c.says), std::string::npos) << c.spec << ": " << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  }
}

TEST(Fault, EnvironmentErrorNamesTheBadEntry) {
  {
    FaultEnv env("pod.nope.before");
    EXPECT_NE(EnvironmentError().find("pod.nope.before"), std::string::npos);
    EXPECT_FALSE(ShouldFireForTest("pod.cni.add.before"));
  }
  EXPECT_EQ(EnvironmentError(), "");
}

TEST(Fault, OnlyTheNthReachFires) {
  FaultEnv env("ctr.shim.start.after@3");
  EXPECT_EQ(EnvironmentError(), "");
  EXPECT_FALSE(ShouldFireForTest("ctr.shim.start.after"));
  EXPECT_FALSE(ShouldFireForTest("ctr.shim.start.before"));
  EXPECT_FALSE(ShouldFireForTest("ctr.shim.start.after"));
  EXPECT_TRUE(ShouldFireForTest("ctr.shim.start.after"));
  EXPECT_FALSE(ShouldFireForTest("ctr.shim.start.after"));
}

TEST(Fault, UnarmedPointsNeverFire) {
  unsetenv("BERTH_FAULT");
  ReloadForTest();
  for (size_t i = 0; i < 3; ++i) Reach("pod.record.ready.after");  // returns
  SUCCEED();
}

TEST(Fault, ReachKillsTheProcessAndWritesTheStamp) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // The threadsafe style runs this body again in the re-executed child: the stamp's path is
  // one both agree on (the parent's pid), not a fresh temporary directory.
  bool in_child = !GTEST_FLAG_GET(internal_run_death_test).empty();
  std::string stamp = "/tmp/berth-fault-test-stamp-" + std::to_string(in_child ? getppid() : getpid());
  if (!in_child) unlink(stamp.c_str());
  EXPECT_EXIT(
      {
        FaultEnv env("pod.record.ready.after@2", stamp);
        Reach("pod.record.ready.after");
        Reach("pod.record.ready.after");
        _exit(0);  // not reached
      },
      testing::KilledBySignal(SIGKILL), "berth fault point pod.record.ready.after reached \\(time 2\\)");
  std::ifstream in(stamp);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "pod.record.ready.after\n");
  // The stamp exists: a second process armed the same way lives on.
  EXPECT_EXIT(
      {
        FaultEnv env("pod.record.ready.after", stamp);
        Reach("pod.record.ready.after");
        _exit(7);
      },
      testing::ExitedWithCode(7), "");
  unlink(stamp.c_str());
}

TEST(Fault, TestingDocListsEveryPoint) {
  std::string doc_path = std::string(BERTH_TESTDATA_DIR) + "/../../../docs/testing.md";
  std::ifstream in(doc_path);
  ASSERT_TRUE(in) << doc_path;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string doc = ss.str();
  size_t start = doc.find("\n## Fault points");
  ASSERT_NE(start, std::string::npos) << "docs/testing.md has no \"## Fault points\" section";
  size_t end = doc.find("\n## ", start + 1);
  std::string section = doc.substr(start, end == std::string::npos ? std::string::npos : end - start);
  // Rows: | `name` | process | what it proves |
  std::regex row("\\n\\| `([a-z0-9._]+)` \\| (berthd|berth-shim) \\| ([^|\\n]+) \\|");
  std::set<std::string> listed;
  for (std::sregex_iterator it(section.begin(), section.end(), row), e; it != e; ++it) {
    std::string name = (*it)[1];
    EXPECT_TRUE(listed.insert(name).second) << name << " is listed twice";
    size_t i = IndexOf(name);
    if (i == kPoints) {
      ADD_FAILURE() << "docs/testing.md lists " << name << ", which is not in the catalogue";
      continue;
    }
    EXPECT_EQ((*it)[2].str(), std::string(kCatalogue[i].process)) << name;
  }
  for (const auto& p : kCatalogue)
    EXPECT_TRUE(listed.contains(std::string(p.name)))
        << "docs/testing.md does not list the fault point " << p.name;
}

}  // namespace
}  // namespace berth::fault
