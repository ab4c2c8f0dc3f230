// no-flink: runs a command in which linkat(2) with AT_EMPTY_PATH fails with
// ENOENT, as it does on kernels before 6.10 for a process without
// CAP_DAC_READ_SEARCH.
//
//   no-flink COMMAND [ARG...]
//
// A seccomp filter on this process tree only (seccomp-exec.h); every other
// call, and linkat without that flag, allowed. It lets a test reach the copy
// job's other way of naming an O_TMPFILE file (linkat of /proc/self/fd/N) on a
// kernel that would take the direct one.
#include "seccomp-exec.h"

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000  // linux/fcntl.h; glibc only defines it under _GNU_SOURCE
#endif

int main(int argc, char** argv) {
  struct sock_filter filter[] = {
      SECCOMP_THIS_ARCH_ONLY,
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_linkat, 0, 3),
      // linkat's fifth argument, the flags (its low 32 bits: both architectures are little-endian).
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[4])),
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, AT_EMPTY_PATH, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOENT & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  return exec_filtered("no-flink", filter, sizeof filter / sizeof filter[0], argc, argv);
}
