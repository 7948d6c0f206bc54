#pragma once
// IdSource: where identifiers and randomness come from (injectable for deterministic tests).

#include <cstddef>
#include <string>

namespace berth::core {

class IdSource {
 public:
  virtual ~IdSource() = default;
  // 32 lowercase hex characters, the form ECS uses for task ids.
  virtual std::string NewTaskId() = 0;
  // A UUID in 8-4-4-4-12 form (request ids, deployment ids).
  virtual std::string NewUuid() = 0;
  // `n` characters from [A-Z0-9] (access key ids) or [A-Za-z0-9+/] (secrets).
  virtual std::string RandomString(size_t n, bool upper_alnum_only) = 0;
};

// Cryptographically random ids (OpenSSL RAND_bytes).
class RandomIdSource final : public IdSource {
 public:
  std::string NewTaskId() override;
  std::string NewUuid() override;
  std::string RandomString(size_t n, bool upper_alnum_only) override;
};

// Random bytes from OpenSSL; aborts if the generator fails (nothing sensible to do then).
void FillRandom(void* out, size_t n);

}  // namespace berth::core
