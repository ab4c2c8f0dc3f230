// The part the seccomp launchers (no-io-uring.c, no-flink.c) share: install a
// filter on this process only, then exec the command. The filter survives
// exec and is inherited by every thread and child of the new image, so nothing
// outside this process tree is affected (no sysctl, no container profile).
#ifndef SAFER_RING_TEST_SECCOMP_EXEC_H
#define SAFER_RING_TEST_SECCOMP_EXEC_H

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
#error "seccomp launcher: unsupported architecture (x86_64 and aarch64 only)"
#endif

// The filter's first three instructions: a syscall made under another ABI
// (e.g. 32-bit) has other numbers, so it is let through.
#define SECCOMP_THIS_ARCH_ONLY                                          \
  BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)), \
  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, THIS_ARCH, 1, 0),                 \
  BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

// Installs `filter` and execs argv[1..]; returns only on failure (its exit status).
static int exec_filtered(const char* name, struct sock_filter* filter, size_t count, int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s COMMAND [ARG...]\n", name);
    return 2;
  }
  struct sock_fprog prog = {.len = (unsigned short)count, .filter = filter};
  // Required to install a filter without CAP_SYS_ADMIN; also keeps setuid
  // binaries from gaining privileges under the filter.
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    fprintf(stderr, "%s: prctl(PR_SET_NO_NEW_PRIVS): %s\n", name, strerror(errno));
    return 125;
  }
  // Installed before exec, so no TSYNC is needed: the new image starts with
  // one thread, and every thread it creates inherits the filter.
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) {
    fprintf(stderr, "%s: prctl(PR_SET_SECCOMP): %s\n", name, strerror(errno));
    return 125;
  }
  execvp(argv[1], argv + 1);
  fprintf(stderr, "%s: exec %s: %s\n", name, argv[1], strerror(errno));
  return 127;
}

#endif
