// Read results: memory a read may fill that is neither arena memory nor the
// caller's, for calls whose outcome is a new Buffer (readFile).
//
// The native layer allocates the Buffer and alone refers to it while the
// kernel may write it: reads name it by id (OP_READ_RESULT), and JavaScript
// gets it (takeResult) only once no read into it is in flight, so the kernel
// never writes memory a program can reach. With the arena, the same bytes
// would be read into a slot and then copied into a new Buffer: for a large
// file that second copy costs more than the ring saves (docs/fs.md).
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace sr {

// Largest result: Node's own limit for one Buffer read from a file (kIoMaxLength).
constexpr uint32_t kMaxResultBytes = 0x7fffffffu;

struct ReadResult {
  uint8_t* base = nullptr;
  size_t length = 0;
  int64_t readsInFlight = 0;  // prepared reads into it whose final CQE has not been reaped
  bool released = false;      // JavaScript let it go with reads in flight: freed after the last one
  Napi::Reference<Napi::Buffer<uint8_t>> buffer;
};

}  // namespace sr
