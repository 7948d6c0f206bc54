#pragma once
// Include Asio/Beast only through this header: g++ 12 with Boost 1.74 needs <utility> first
// (Asio bug #944). Keep it out of widely included headers; it costs seconds per TU.
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
