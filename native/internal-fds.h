// The file descriptors safer-ring itself owns (each ring's io_uring fd and
// eventfd), process-wide: fds are shared by every thread, so a close through
// any ring could otherwise reach another thread's ring and leave its
// operations waiting forever. A close descriptor naming one is refused.
#pragma once
#include <mutex>
#include <unordered_set>

namespace sr {

class InternalFds {
 public:
  static void Add(int fd) {
    if (fd < 0) return;
    std::lock_guard<std::mutex> lock(Mutex());
    Set().insert(fd);
  }
  static void Remove(int fd) {
    if (fd < 0) return;
    std::lock_guard<std::mutex> lock(Mutex());
    Set().erase(fd);
  }
  static bool Contains(int fd) {
    std::lock_guard<std::mutex> lock(Mutex());
    return Set().count(fd) != 0;
  }

 private:
  // Function-local statics: built on first use, never destroyed (rings may be torn down at exit).
  static std::mutex& Mutex() {
    static std::mutex* m = new std::mutex();
    return *m;
  }
  static std::unordered_set<int>& Set() {
    static std::unordered_set<int>* s = new std::unordered_set<int>();
    return *s;
  }
};

}  // namespace sr
