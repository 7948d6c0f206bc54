#pragma once
// RunEventLoop: io_context::run() that, when work comes in quick succession, keeps polling for a
// short while after each burst before it sleeps in epoll_wait again.
//
// Why: with one client doing call after call (an SDK's loop, a deploy script, wrk -c1), the next
// request arrives tens of microseconds after the reply. Sleeping in between costs the server a
// context switch and the client an inter-processor wake-up inside its send: in this VM about a
// fifth of a PutParameter's round trip (docs/BENCHMARKS.md). Polling for `spin` after the last
// handler catches that next request awake.
//
// Adaptive, so that an idle or lightly used server pays nothing: the loop only spins after a
// sleep that ended within a few spin windows (the work is arriving in quick succession); timer
// ticks and sparse requests sleep again at once. spin == 0 is plain io.run().

#include <chrono>

#include "core/asio.h"

namespace berth::core {

void RunEventLoop(boost::asio::io_context& io, std::chrono::microseconds spin);

}  // namespace berth::core
