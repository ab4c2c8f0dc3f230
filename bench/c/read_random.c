/*
 * read_random: the performance ceiling for random 4 KiB reads through io_uring.
 *
 *   read_random FILE QD SECONDS [fixed]
 *
 * Keeps QD reads of 4 KiB at random 4 KiB-aligned offsets in flight for
 * SECONDS, then prints one JSON line: {"ops":N,"seconds":S,"opsPerSec":R}.
 * With "fixed", the buffers and the file are registered with the ring and the
 * reads use IORING_OP_READ_FIXED on a fixed file descriptor.
 *
 * Built on demand by bench/lib/cbuild.mjs; no dependency beyond liburing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096u
#define BATCH 64u /* CQEs reaped per peek */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

/* xorshift64: a few cycles per number, plenty random enough to defeat readahead. */
static inline uint64_t xorshift64(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "read_random: %s: %s\n", what, strerror(err));
	exit(1);
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc > 5 || (argc == 5 && strcmp(argv[4], "fixed") != 0)) {
		fprintf(stderr, "usage: %s FILE QD SECONDS [fixed]\n", argv[0]);
		return 2;
	}
	const char *path = argv[1];
	unsigned qd = (unsigned)atoi(argv[2]);
	double seconds = atof(argv[3]);
	int fixed = argc == 5;
	if (qd < 1 || qd > 4096 || seconds <= 0) {
		fprintf(stderr, "read_random: QD must be 1..4096 and SECONDS > 0\n");
		return 2;
	}

	int fd = open(path, O_RDONLY);
	if (fd < 0)
		die(path, errno);
	struct stat st;
	if (fstat(fd, &st) < 0)
		die("fstat", errno);
	uint64_t nblocks = (uint64_t)st.st_size / BLOCK;
	if (nblocks == 0) {
		fprintf(stderr, "read_random: %s is smaller than one block\n", path);
		return 1;
	}

	struct io_uring ring;
	int ret = io_uring_queue_init(qd, &ring, 0);
	if (ret < 0)
		die("io_uring_queue_init", -ret);

	/* One 4 KiB slot per in-flight read; user_data carries the slot index. */
	char *bufs;
	if (posix_memalign((void **)&bufs, BLOCK, (size_t)qd * BLOCK))
		die("posix_memalign", ENOMEM);
	memset(bufs, 0, (size_t)qd * BLOCK);
	struct iovec *iov = calloc(qd, sizeof(*iov));
	for (unsigned i = 0; i < qd; i++) {
		iov[i].iov_base = bufs + (size_t)i * BLOCK;
		iov[i].iov_len = BLOCK;
	}
	if (fixed) {
		if ((ret = io_uring_register_buffers(&ring, iov, qd)) < 0)
			die("io_uring_register_buffers", -ret);
		if ((ret = io_uring_register_files(&ring, &fd, 1)) < 0)
			die("io_uring_register_files", -ret);
	}

	/* Free slots form a stack; a slot is pushed back when its read completes. */
	unsigned *free_slots = malloc(qd * sizeof(*free_slots));
	unsigned nfree = qd;
	for (unsigned i = 0; i < qd; i++)
		free_slots[i] = i;

	uint64_t ops = 0;
	unsigned inflight = 0;
	double start = now(), deadline = start + seconds;
	int running = 1;
	struct io_uring_cqe *cqes[BATCH];

	while (running || inflight) {
		/* Refill every free slot, then submit the whole batch in one syscall. */
		while (running && nfree) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			if (!sqe)
				break;
			unsigned slot = free_slots[--nfree];
			off_t off = (off_t)(xorshift64() % nblocks) * BLOCK;
			if (fixed) {
				io_uring_prep_read_fixed(sqe, 0, iov[slot].iov_base, BLOCK, off, slot);
				sqe->flags |= IOSQE_FIXED_FILE;
			} else {
				io_uring_prep_read(sqe, fd, iov[slot].iov_base, BLOCK, off);
			}
			io_uring_sqe_set_data64(sqe, slot);
			inflight++;
		}
		/* Submit and block until at least one completion is ready. */
		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0 && ret != -EINTR)
			die("io_uring_submit_and_wait", -ret);

		unsigned n;
		while ((n = io_uring_peek_batch_cqe(&ring, cqes, BATCH)) > 0) {
			for (unsigned i = 0; i < n; i++) {
				if (cqes[i]->res != (int)BLOCK)
					die("read", cqes[i]->res < 0 ? -cqes[i]->res : EIO);
				free_slots[nfree++] = (unsigned)io_uring_cqe_get_data64(cqes[i]);
			}
			io_uring_cq_advance(&ring, n);
			inflight -= n;
			ops += n;
		}
		/* One clock read per batch keeps the timing overhead negligible. */
		if (running && now() >= deadline)
			running = 0;
	}

	double elapsed = now() - start;
	printf("{\"ops\":%llu,\"seconds\":%.6f,\"opsPerSec\":%.1f}\n",
	       (unsigned long long)ops, elapsed, ops / elapsed);

	io_uring_queue_exit(&ring);
	free(free_slots);
	free(iov);
	free(bufs);
	close(fd);
	return 0;
}
