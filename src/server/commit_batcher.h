#pragma once
// CommitBatcher: group commit for the API. The first request of an event-loop turn opens a store
// batch and posts its commit behind the turn's other ready work; every reply computed after the
// batch changed a row is held and sent only after the commit succeeded, so one WAL write serves
// many calls and no client is told "done" before its change is stored. Replies computed before
// any change in the turn (reads) go at once.
//
// A failed commit is fatal: the process exits without sending the held replies, and the next
// start rebuilds every in-memory view from the store, which holds exactly what was committed.

#include <functional>
#include <vector>

#include "store/db.h"

namespace boost::asio {
class io_context;
}

namespace berth::server {

class CommitBatcher {
 public:
  CommitBatcher(boost::asio::io_context& io, store::Db& db) : io_(io), db_(db) {}

  // Called before a request is handled: makes sure a batch is open.
  void Enter();
  // Runs `send` once the current batch is committed: now, if none is open or the open one has
  // changed nothing yet (the reply then rests only on committed data).
  void AfterCommit(std::function<void()> send);

 private:
  void Commit();

  boost::asio::io_context& io_;
  store::Db& db_;
  std::vector<std::function<void()>> held_;
};

}  // namespace berth::server
