#include "api/protocol/query_tree.h"

#include <gtest/gtest.h>

namespace berth::api {
namespace {

using nlohmann::json;

TEST(QueryTreeTest, NestedMembersBecomeOrderedArrays) {
  json tree = QueryTree({
      {"Action", "CreateRule"},
      {"Priority", "10"},
      {"Conditions.member.2.Field", "path-pattern"},
      {"Conditions.member.2.PathPatternConfig.Values.member.1", "/api/*"},
      {"Conditions.member.1.Field", "host-header"},
      {"Conditions.member.1.HostHeaderConfig.Values.member.10", "b.example.com"},
      {"Conditions.member.1.HostHeaderConfig.Values.member.2", "a.example.com"},
      {"Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight", "5"},
  });
  EXPECT_EQ(QueryString(tree, "Priority"), "10");
  const json& conditions = QueryList(tree, "Conditions");
  ASSERT_EQ(conditions.size(), 2u);
  EXPECT_EQ(QueryString(conditions[0], "Field"), "host-header");
  EXPECT_EQ(QueryStrings(conditions[0]["HostHeaderConfig"], "Values"),
            (std::vector<std::string>{"a.example.com", "b.example.com"}));
  EXPECT_EQ(QueryStrings(conditions[1]["PathPatternConfig"], "Values"),
            (std::vector<std::string>{"/api/*"}));
  EXPECT_EQ(QueryString(QueryList(QueryList(tree, "Actions")[0]["ForwardConfig"], "TargetGroups")[0],
                        "Weight"),
            "5");
}

TEST(QueryTreeTest, MissingAndConflictingNamesAreHarmless) {
  json tree = QueryTree({{"A", "1"}, {"A.B", "2"}, {"L.member.x", "3"}, {"M.member.1", "v"}});
  EXPECT_EQ(QueryString(tree["A"], "B"), "2");
  EXPECT_TRUE(QueryList(tree, "Nope").empty());
  EXPECT_EQ(QueryString(tree, "Nope"), "");
  EXPECT_EQ(QueryStrings(tree, "M"), (std::vector<std::string>{"v"}));
  EXPECT_TRUE(QueryList(tree, "L").empty());  // "member.x" is not an index: not a list
}

TEST(XmlOutTest, EscapesContent) {
  XmlOut x;
  x.Open("A").Leaf("B", "<&>").Leaf("N", 5).Bool("T", true).Close("A");
  EXPECT_EQ(x.Take(), "<A><B>&lt;&amp;&gt;</B><N>5</N><T>true</T></A>");
}

}  // namespace
}  // namespace berth::api
