#pragma once
// BERTH_ASSERT: for invariants only (bugs), never for user input or the environment.

#include <cstdio>
#include <cstdlib>

#define BERTH_ASSERT(cond, why)                                                      \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::fprintf(stderr, "%s:%d: assertion failed: %s (%s)\n", __FILE__, __LINE__, \
                   #cond, why);                                                      \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)
