// no-io-uring: runs a command in which io_uring_setup(2) fails with EPERM.
//
//   no-io-uring COMMAND [ARG...]
//
// A seccomp filter on this process tree only (seccomp-exec.h); every other
// syscall is allowed. This reproduces what a default container seccomp
// profile does to io_uring.
#include "seccomp-exec.h"

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425  // the same number on every architecture
#endif

int main(int argc, char** argv) {
  struct sock_filter filter[] = {
      SECCOMP_THIS_ARCH_ONLY,
      // io_uring_setup fails with EPERM; everything else is allowed.
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  return exec_filtered("no-io-uring", filter, sizeof filter / sizeof filter[0], argc, argv);
}
