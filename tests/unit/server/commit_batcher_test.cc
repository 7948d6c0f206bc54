#include "server/commit_batcher.h"

#include <gtest/gtest.h>

#include "core/asio.h"

namespace berth::server {

TEST(CommitBatcher, HoldsRepliesUntilTheTurnsCommit) {
  boost::asio::io_context io;
  auto db = std::move(store::Db::Open(":memory:")).value();
  ASSERT_TRUE(db->Exec("CREATE TABLE t(x)").ok());
  CommitBatcher batcher(io, *db);
  std::vector<std::string> sent;
  for (int i = 0; i < 3; ++i) {
    batcher.Enter();
    ASSERT_TRUE(db->Exec("INSERT INTO t VALUES (" + std::to_string(i) + ")").ok());
    batcher.AfterCommit([&sent, i] { sent.push_back("reply " + std::to_string(i)); });
  }
  EXPECT_TRUE(sent.empty());  // nothing acknowledged before the commit
  EXPECT_TRUE(db->in_batch());
  io.poll();
  EXPECT_EQ(sent, (std::vector<std::string>{"reply 0", "reply 1", "reply 2"}));
  EXPECT_FALSE(db->in_batch());
  auto s = db->Prepare("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(*s->Step());
  EXPECT_EQ(s->ColumnInt(0), 3);
  // Outside a batch a reply goes at once.
  batcher.AfterCommit([&sent] { sent.push_back("now"); });
  EXPECT_EQ(sent.back(), "now");
}

TEST(CommitBatcher, RepliesThatOnlyReadGoBeforeTheCommitUntilTheTurnWrites) {
  boost::asio::io_context io;
  auto db = std::move(store::Db::Open(":memory:")).value();
  ASSERT_TRUE(db->Exec("CREATE TABLE t(x)").ok());
  CommitBatcher batcher(io, *db);
  std::vector<std::string> sent;
  batcher.Enter();
  {
    auto s = db->Prepare("SELECT COUNT(*) FROM t");
    ASSERT_TRUE(*s->Step());
  }
  batcher.AfterCommit([&sent] { sent.push_back("read"); });
  EXPECT_EQ(sent, std::vector<std::string>{"read"});  // nothing of this turn to wait for
  batcher.Enter();
  ASSERT_TRUE(db->Exec("DELETE FROM t WHERE x = 42").ok());  // changes no row
  batcher.AfterCommit([&sent] { sent.push_back("no-op write"); });
  EXPECT_EQ(sent.size(), 2u);
  batcher.Enter();
  ASSERT_TRUE(db->Exec("INSERT INTO t VALUES (1)").ok());
  batcher.AfterCommit([&sent] { sent.push_back("write"); });
  batcher.Enter();
  batcher.AfterCommit([&sent] { sent.push_back("read after the write"); });
  EXPECT_EQ(sent.size(), 2u);  // both rest on the uncommitted insert
  io.poll();
  EXPECT_EQ(sent, (std::vector<std::string>{"read", "no-op write", "write",
                                            "read after the write"}));
  EXPECT_FALSE(db->in_batch());
}

}  // namespace berth::server
