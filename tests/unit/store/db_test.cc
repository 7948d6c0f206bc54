#include "store/db.h"

#include <gtest/gtest.h>

namespace berth::store {

TEST(Db, MigrationsApplyOnceInOrder) {
  auto db = Db::Open(":memory:");
  ASSERT_TRUE(db.ok());
  std::vector<Migration> ms = {{1, "t", "CREATE TABLE t(x INTEGER);"},
                               {2, "u", "INSERT INTO t VALUES (42);"}};
  ASSERT_TRUE(ApplyMigrations(**db, "test", ms).ok());
  ASSERT_TRUE(ApplyMigrations(**db, "test", ms).ok());  // second run is a no-op
  auto s = (*db)->Prepare("SELECT COUNT(*), MAX(x) FROM t");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(*s->Step());
  EXPECT_EQ(s->ColumnInt(0), 1);
  EXPECT_EQ(s->ColumnInt(1), 42);
}

TEST(Db, ModulesVersionTheirSchemasSeparately) {
  auto db = Db::Open(":memory:");
  ASSERT_TRUE(db.ok());
  std::vector<Migration> a = {{1, "a1", "CREATE TABLE a(x);"}, {2, "a2", "CREATE TABLE a2(x);"}};
  std::vector<Migration> b = {{1, "b1", "CREATE TABLE b(x);"}};
  ASSERT_TRUE(ApplyMigrations(**db, "a", a).ok());
  ASSERT_TRUE(ApplyMigrations(**db, "b", b).ok());  // "a" at 2 does not make "b" look newer
  ASSERT_TRUE(ApplyMigrations(**db, "a", a).ok());
}

TEST(Db, FailedMigrationLeavesSchemaUnchanged) {
  auto db = Db::Open(":memory:");
  ASSERT_TRUE(db.ok());
  std::vector<Migration> ms = {{1, "bad", "CREATE TABLE t(x); THIS IS NOT SQL;"}};
  EXPECT_FALSE(ApplyMigrations(**db, "test", ms).ok());
  auto s = (*db)->Prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 't'");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(*s->Step());
  EXPECT_EQ(s->ColumnInt(0), 0);
}

TEST(Db, RefusesNewerSchema) {
  auto db = Db::Open(":memory:");
  ASSERT_TRUE(db.ok());
  std::vector<Migration> ms = {{1, "t", "CREATE TABLE t(x);"}};
  std::vector<Migration> newer = {{1, "t", "CREATE TABLE t(x);"}, {9, "u", "CREATE TABLE u(x);"}};
  ASSERT_TRUE(ApplyMigrations(**db, "test", newer).ok());
  Status s = ApplyMigrations(**db, "test", ms);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("newer"), std::string::npos);
}

TEST(Db, TransactionRollsBackWithoutCommit) {
  auto db = Db::Open(":memory:");
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t(x)").ok());
  {
    Transaction txn(**db);
    ASSERT_TRUE((*db)->Exec("INSERT INTO t VALUES (1)").ok());
  }
  auto s = (*db)->Prepare("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(*s->Step());
  EXPECT_EQ(s->ColumnInt(0), 0);
}

}  // namespace berth::store

namespace berth::store {

TEST(Db, CachedStatementsAreResetBetweenUses) {
  auto db = Db::Open(":memory:");
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t(x); INSERT INTO t VALUES (1), (2), (3);").ok());
  for (int round = 0; round < 3; ++round) {
    auto s = (*db)->Prepare("SELECT x FROM t WHERE x >= ?1 ORDER BY x");
    ASSERT_TRUE(s.ok());
    s->Bind(1, int64_t{2});
    ASSERT_TRUE(*s->Step());
    EXPECT_EQ(s->ColumnInt(0), 2);  // a statement left mid-result must come back reset
  }
  // The same SQL prepared twice at once gives two independent statements.
  auto a = (*db)->Prepare("SELECT x FROM t ORDER BY x");
  auto b = (*db)->Prepare("SELECT x FROM t ORDER BY x");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(*a->Step());
  ASSERT_TRUE(*a->Step());
  ASSERT_TRUE(*b->Step());
  EXPECT_EQ(a->ColumnInt(0), 2);
  EXPECT_EQ(b->ColumnInt(0), 1);
}

TEST(Db, SecondOpenOfTheSameFileIsRefused) {
  std::string path = ::testing::TempDir() + "/berth-db-lock-test.db";
  std::remove(path.c_str());
  auto first = Db::Open(path);
  ASSERT_TRUE(first.ok());
  auto second = Db::Open(path);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("in use"), std::string::npos);
  first.value().reset();
  EXPECT_TRUE(Db::Open(path).ok());
}

}  // namespace berth::store

namespace berth::store {

TEST(Db, TransactionsNestInsideABatch) {
  auto db = Db::Open(":memory:");
  ASSERT_TRUE(db.ok());
  Db& d = **db;
  ASSERT_TRUE(d.Exec("CREATE TABLE t(x)").ok());
  ASSERT_TRUE(d.BeginBatch().ok());
  ASSERT_TRUE(d.Exec("INSERT INTO t VALUES (1)").ok());
  {
    Transaction undone(d);
    ASSERT_TRUE(d.Exec("INSERT INTO t VALUES (2)").ok());
  }  // rolled back: only its own insert goes
  {
    Transaction kept(d);
    ASSERT_TRUE(d.Exec("INSERT INTO t VALUES (3)").ok());
    ASSERT_TRUE(kept.Commit().ok());
  }
  ASSERT_TRUE(d.CommitBatch().ok());
  EXPECT_FALSE(d.in_batch());
  auto s = d.Prepare("SELECT group_concat(x) FROM t");
  ASSERT_TRUE(*s->Step());
  EXPECT_EQ(s->ColumnText(0), "1,3");
}

}  // namespace berth::store
