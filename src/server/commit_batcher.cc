#include "server/commit_batcher.h"

#include <cstdlib>

#include "core/asio.h"
#include "core/log.h"

namespace berth::server {

void CommitBatcher::Enter() {
  if (db_.in_batch()) {
    return;
  }
  if (Status s = db_.BeginBatch(); !s.ok()) {
    // Without a batch every statement commits on its own: slower, still correct.
    spdlog::warn("cannot open a store batch: {}", s.error().message);
    return;
  }
  boost::asio::post(io_, [this] { Commit(); });
}

void CommitBatcher::AfterCommit(std::function<void()> send) {
  // Nothing written in this turn so far: the reply rests only on committed data and goes now
  // (a GetParameters does not wait for the turn's commit; a reply after a write still does).
  if (!db_.batch_changed()) {
    send();
    return;
  }
  held_.push_back(std::move(send));
}

void CommitBatcher::Commit() {
  if (Status s = db_.CommitBatch(); !s.ok()) {
    spdlog::critical("store commit failed, exiting so that a restart rebuilds from the store: {}",
                     s.error().message);
    std::_Exit(70);
  }
  std::vector<std::function<void()>> held;
  held.swap(held_);
  for (auto& send : held) {
    send();
  }
}

}  // namespace berth::server
