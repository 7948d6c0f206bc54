#pragma once
// Fixed-width integers in the log store's on-disk formats (segment blocks, cluster tables):
// host byte order, which on the x86-64 berth runs on is the little-endian the formats specify.

#include <cstring>
#include <string>

namespace berth::logs {

// Appends `v`'s bytes to `out`.
template <typename T>
void PutFixed(std::string& out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.append(buf, sizeof(T));
}

// Reads a T from `p`. REQUIRES: sizeof(T) readable bytes at p.
template <typename T>
T GetFixed(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

}  // namespace berth::logs
