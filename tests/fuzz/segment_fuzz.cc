// libFuzzer target for the log segment reader: arbitrary bytes as one block, and as a whole
// segment file opened by OpenSegments (which must repair or refuse, never crash or serve junk).
//   scripts/fuzz.sh [seconds]

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "logs/segment.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto events = berth::logs::DecodeBlock(bytes);
  if (events.ok()) {
    // Whatever decodes must re-encode to something that decodes to the same events.
    auto again = berth::logs::DecodeBlock(berth::logs::EncodeBlock(*events));
    if (!again.ok() || again->size() != events->size()) {
      __builtin_trap();
    }
  }
  static const std::string dir =
      std::filesystem::temp_directory_path().string() + "/segfuzz-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir + "/" + berth::logs::SegmentFileName(0), std::ios::binary | std::ios::trunc)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  std::string repaired;
  auto blocks = berth::logs::OpenSegments(dir, &repaired);
  if (blocks.ok()) {
    // Every block left after the repair must decode.
    std::ifstream in(dir + "/" + berth::logs::SegmentFileName(0), std::ios::binary);
    std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const auto& b : *blocks) {
      if (!berth::logs::DecodeBlock(std::string_view(file).substr(b.offset, b.size)).ok()) {
        __builtin_trap();
      }
    }
  }
  return 0;
}
