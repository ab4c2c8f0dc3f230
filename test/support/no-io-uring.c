// no-io-uring: runs a command in which io_uring_setup(2) fails with EPERM.
//
//   no-io-uring COMMAND [ARG...]
//
// Installs a seccomp filter on this process only, then execs COMMAND. The
// filter survives exec and is inherited by every thread and child of the new
// image, so nothing outside this process tree is affected (no sysctl, no
// container profile). Every other syscall is allowed. This reproduces what a
// default container seccomp profile does to io_uring.
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define THIS_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define THIS_ARCH AUDIT_ARCH_AARCH64
#else
#error "no-io-uring: unsupported architecture (x86_64 and aarch64 only)"
#endif

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425  // the same number on every architecture
#endif

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s COMMAND [ARG...]\n", argv[0]);
    return 2;
  }
  struct sock_filter filter[] = {
      // A syscall made under another ABI (e.g. 32-bit) has other numbers: let it through.
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, THIS_ARCH, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      // io_uring_setup fails with EPERM; everything else is allowed.
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {.len = sizeof(filter) / sizeof(filter[0]), .filter = filter};

  // Required to install a filter without CAP_SYS_ADMIN; also keeps setuid
  // binaries from gaining privileges under the filter.
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    fprintf(stderr, "no-io-uring: prctl(PR_SET_NO_NEW_PRIVS): %s\n", strerror(errno));
    return 125;
  }
  // Installed before exec, so no TSYNC is needed: the new image starts with
  // one thread, and every thread it creates inherits the filter.
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) {
    fprintf(stderr, "no-io-uring: prctl(PR_SET_SECCOMP): %s\n", strerror(errno));
    return 125;
  }
  execvp(argv[1], argv + 1);
  fprintf(stderr, "no-io-uring: exec %s: %s\n", argv[1], strerror(errno));
  return 127;
}
