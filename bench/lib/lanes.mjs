// Measurement plumbing shared by the Node variants of the benchmarks: a
// deadline clock for throughput runs, async lanes, per-operation latency
// recording, and a guard against runs that hang.
import { BLOCK } from './datafile.mjs';

/**
 * Counts completed operations and decides when a timed run is over. The
 * deadline is checked every 256 operations rather than with a timer: a timer
 * could be starved if completions are delivered without returning to the
 * event loop, and reading the clock on every operation would cost more than
 * the cheapest operations themselves.
 */
export class Clock {
  constructor(seconds) {
    this.ops = 0;
    this.done = false;
    this.start = performance.now();
    this.deadline = this.start + seconds * 1000;
  }

  /** Records one completed operation; returns true once time is up. */
  tick() {
    if ((++this.ops & 255) === 0 && performance.now() >= this.deadline) this.done = true;
    return this.done;
  }

  result() {
    return { ops: this.ops, seconds: (performance.now() - this.start) / 1000 };
  }
}

/** Throws unless a read returned exactly one block. */
export function checkRead(n) {
  if (n !== BLOCK) throw new Error(`short read: ${n} bytes instead of ${BLOCK}`);
}

/**
 * Runs `qd` async lanes until the clock stops them. If a lane fails, the
 * others are stopped and awaited before the error is rethrown, so no
 * operation of this variant is still running when the next variant starts.
 */
export async function runLanes(qd, clock, lane) {
  const lanes = [];
  for (let i = 0; i < qd; i++) {
    lanes.push(
      lane(i).catch((err) => {
        clock.done = true;
        throw err;
      }),
    );
  }
  const settled = await Promise.allSettled(lanes);
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  return clock.result();
}

/** Nearest-rank percentile of sorted millisecond samples, in microseconds. */
/**
 * `buffers.length` lanes of `target.readOwned` (a Ring or a Runtime), each
 * reusing the buffer its last read handed back, for `seconds`. The lanes'
 * buffers are written back to `buffers` so the caller can release them.
 */
export function readOwnedLanes(target, fd, buffers, positions, seconds) {
  const clock = new Clock(seconds);
  return runLanes(buffers.length, clock, async (i) => {
    let buf = buffers[i];
    try {
      while (!clock.done) {
        const { bytesRead, buffer } = await target.readOwned(fd, buf, { position: positions.next() });
        buf = buffer;
        checkRead(bytesRead);
        clock.tick();
      }
    } finally {
      buffers[i] = buf;
    }
  });
}

export function percentileMicros(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank] * 1000;
}

/**
 * Per-operation latencies of a run, in milliseconds (performance.now()
 * units), in a growable Float64Array so a run of a few hundred thousand
 * operations costs no garbage. The clock read that ends one sample also
 * decides whether the run is over, so timing adds one performance.now() per
 * operation, not two. With `cpu`, the process's CPU time over the run is
 * measured too (user + system, every thread).
 */
export class LatencyRecorder {
  constructor(seconds, { cpu = false } = {}) {
    this.samples = new Float64Array(1 << 16);
    this.count = 0;
    this.cpu = cpu ? process.cpuUsage() : null;
    this.start = performance.now();
    this.deadline = this.start + seconds * 1000;
  }

  /** Records one operation that started at t0 and ended at t1; returns true once time is up. */
  record(t0, t1) {
    if (this.count === this.samples.length) {
      const grown = new Float64Array(this.samples.length * 2);
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.count++] = t1 - t0;
    return t1 >= this.deadline;
  }

  /** { ops, seconds, p50, p99 } (p50/p99 in microseconds), plus cpuMicros (total) when measured. */
  result() {
    const seconds = (performance.now() - this.start) / 1000;
    const cpu = this.cpu ? process.cpuUsage(this.cpu) : null;
    const sorted = this.samples.subarray(0, this.count).sort();
    return {
      ops: this.count,
      seconds,
      p50: percentileMicros(sorted, 0.5),
      p99: percentileMicros(sorted, 0.99),
      ...(cpu ? { cpuMicros: cpu.user + cpu.system } : {}),
    };
  }
}

/** Rejects with a "hang" error if `promise` has not settled after `ms`. */
export function withDeadline(promise, ms, what, hint = 'hang?') {
  let timer;
  const hang = new Promise((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${(ms / 1000).toFixed(1)} s (${hint})`)), ms);
  });
  return Promise.race([promise, hang]).finally(() => clearTimeout(timer));
}
