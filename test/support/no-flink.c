// no-flink: runs a command in which linkat(2) with AT_EMPTY_PATH fails with
// ENOENT, as it does on kernels before 6.10 for a process without
// CAP_DAC_READ_SEARCH.
//
//   no-flink COMMAND [ARG...]
//
// The same kind of seccomp filter as no-io-uring.c: this process tree only,
// every other call (and linkat without that flag) allowed. It lets a test reach
// the copy job's other way of naming an O_TMPFILE file (linkat of
// /proc/self/fd/N) on a kernel that would take the direct one.
#include <errno.h>
#include <fcntl.h>
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
#error "no-flink: unsupported architecture (x86_64 and aarch64 only)"
#endif

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000  // linux/fcntl.h; glibc only defines it under _GNU_SOURCE
#endif

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s COMMAND [ARG...]\n", argv[0]);
    return 2;
  }
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, THIS_ARCH, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_linkat, 0, 3),
      // linkat's fifth argument, the flags (its low 32 bits: both architectures are little-endian).
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[4])),
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, AT_EMPTY_PATH, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOENT & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {.len = sizeof(filter) / sizeof(filter[0]), .filter = filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    fprintf(stderr, "no-flink: prctl(PR_SET_NO_NEW_PRIVS): %s\n", strerror(errno));
    return 125;
  }
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) {
    fprintf(stderr, "no-flink: prctl(PR_SET_SECCOMP): %s\n", strerror(errno));
    return 125;
  }
  execvp(argv[1], argv + 1);
  fprintf(stderr, "no-flink: exec %s: %s\n", argv[1], strerror(errno));
  return 127;
}
