// Per-ring performance metrics: operation counts, bytes, errors and a latency
// histogram per opcode. Collected only when a ring's configuration enables
// metrics; otherwise the engine holds no PerformanceMetrics at all and takes
// no timestamps.
//
// Latency is the time from the call that queued the operation to the moment
// its completion reached JavaScript (what the caller waits for), measured
// with performance.now(). The histogram is log-linear (16 sub-buckets per
// power of two of nanoseconds, so a bucket is at most 6.25% wide): recording
// is a few integer operations and a percentile is a walk over 464 counters.
import { Op, OP_SYSCALL } from './ring/descriptor';

const SUB_BITS = 4;
const SUB = 1 << SUB_BITS; // 16
const LINEAR = 2 * SUB; // values below 32 ns get one bucket each
const BUCKETS = (31 - SUB_BITS) * SUB + 2 * SUB; // 464: covers every uint32 nanosecond value
const MAX_NS = 2 ** 32 - 1; // ~4.29 s; longer latencies land in the last bucket (max stays exact)
const ETIME = 62;

/** Bucket index of a latency in whole nanoseconds (0 .. 2^32-1). */
function bucketOf(ns: number): number {
  if (ns < LINEAR) return ns;
  const k = 31 - Math.clz32(ns);
  return (k - SUB_BITS) * SUB + (ns >>> (k - SUB_BITS));
}

/** [low, high) nanosecond range of a bucket. */
function bucketRange(index: number): [number, number] {
  if (index < LINEAR) return [index, index + 1];
  const k = Math.floor(index / SUB) + SUB_BITS - 1;
  const mantissa = index - (k - SUB_BITS) * SUB;
  const shift = k - SUB_BITS;
  return [mantissa * 2 ** shift, (mantissa + 1) * 2 ** shift];
}

/** Bytes-moving ops: their non-negative result is a byte count. */
const BYTE_OPS = new Set<number>([Op.READ, Op.WRITE, Op.READV, Op.WRITEV, Op.RECV, Op.SEND, Op.SEND_ZC]);

/** Latency summary of one opcode, in microseconds. */
export interface LatencySummary {
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface OpMetrics {
  /** Operations that completed in the kernel (successfully or not). */
  count: number;
  /** Of those, how many completed with an error (a negative result). */
  errors: number;
  /** Bytes transferred (read, write, readv, writev, recv, send; 0 for other ops). */
  bytes: number;
  /** Call-to-completion latency in microseconds. */
  latencyUs: LatencySummary;
}

export interface MetricsSnapshot {
  /** False when metrics were not enabled: `ops` is empty and the totals are zero. */
  enabled: boolean;
  /** Per opcode, by syscall name (`read`, `write`, `open`, ...); only opcodes seen. */
  ops: Record<string, OpMetrics>;
  totals: { count: number; errors: number; bytes: number };
  /** Times a flush left operations waiting in JavaScript because the ring (SQ or CQ) had no room. */
  sqFull: number;
  /** Completions the kernel dropped because the completion queue was full (`cq.koverflow`). */
  cqOverflow: number;
  /** The kernel is holding completions in its overflow list right now (IORING_SQ_CQ_OVERFLOW). */
  cqOverflowPending: boolean;
  /** Milliseconds covered: since the ring opened or the last reset. */
  elapsedMs: number;
}

class OpStats {
  count = 0;
  errors = 0;
  bytes = 0;
  sumNs = 0;
  minNs = Infinity;
  maxNs = 0;
  readonly hist = new Float64Array(BUCKETS);

  add(other: OpStats): void {
    this.count += other.count;
    this.errors += other.errors;
    this.bytes += other.bytes;
    this.sumNs += other.sumNs;
    this.minNs = Math.min(this.minNs, other.minNs);
    this.maxNs = Math.max(this.maxNs, other.maxNs);
    for (let i = 0; i < BUCKETS; i++) this.hist[i] += other.hist[i];
  }

  /** The value below which `q` of the samples fall (bucket midpoint, clamped to the observed range), in ns. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.hist[i];
      if (seen >= rank) {
        const [lo, hi] = bucketRange(i);
        return Math.min(this.maxNs, Math.max(this.minNs, (lo + hi) / 2));
      }
    }
    return this.maxNs;
  }

  summary(): OpMetrics {
    const us = (ns: number) => Math.round(ns) / 1000;
    return {
      count: this.count,
      errors: this.errors,
      bytes: this.bytes,
      latencyUs: {
        min: this.count === 0 ? 0 : us(this.minNs),
        mean: this.count === 0 ? 0 : us(this.sumNs / this.count),
        p50: us(this.quantile(0.5)),
        p90: us(this.quantile(0.9)),
        p99: us(this.quantile(0.99)),
        max: us(this.maxNs),
      },
    };
  }
}

/**
 * Metrics of one ring (or, merged, of several). Engines call `record` once
 * per completion; everything else is for reporting.
 */
export class PerformanceMetrics {
  #ops: (OpStats | undefined)[] = [];
  #start = performance.now();

  /** @internal One completion of `op` with result `res`, `latencyMs` after its call. */
  record(op: number, res: number, latencyMs: number): void {
    const s = (this.#ops[op] ??= new OpStats());
    s.count++;
    if (res < 0) {
      if (!(op === Op.TIMEOUT && res === -ETIME)) s.errors++;
    } else if (BYTE_OPS.has(op)) {
      s.bytes += res;
    }
    let ns = Math.round(latencyMs * 1e6);
    if (!(ns >= 0)) ns = 0;
    s.sumNs += ns;
    if (ns < s.minNs) s.minNs = ns;
    if (ns > s.maxNs) s.maxNs = ns;
    s.hist[bucketOf(ns > MAX_NS ? MAX_NS : ns)]++;
  }

  /** Forgets everything recorded so far. */
  reset(): void {
    this.#ops = [];
    this.#start = performance.now();
  }

  /** Sums several rings' metrics (the runtime's workers) into a new object; percentiles come from the merged histograms. */
  static merge(parts: readonly PerformanceMetrics[]): PerformanceMetrics {
    const out = new PerformanceMetrics();
    out.#start = Math.min(out.#start, ...parts.map((p) => p.#start));
    for (const p of parts) {
      p.#ops.forEach((s, op) => {
        if (s !== undefined) (out.#ops[op] ??= new OpStats()).add(s);
      });
    }
    return out;
  }

  /** @internal A snapshot; the ring adds the kernel and queue counters. */
  snapshot(extra: { sqFull: number; cqOverflow: number; cqOverflowPending: boolean }): MetricsSnapshot {
    const ops: Record<string, OpMetrics> = {};
    const totals = { count: 0, errors: 0, bytes: 0 };
    this.#ops.forEach((s, op) => {
      if (s === undefined || s.count === 0) return;
      ops[OP_SYSCALL[op] ?? `op${op}`] = s.summary();
      totals.count += s.count;
      totals.errors += s.errors;
      totals.bytes += s.bytes;
    });
    return { enabled: true, ops, totals, ...extra, elapsedMs: performance.now() - this.#start };
  }
}

/** The snapshot of a ring without metrics. */
export function disabledSnapshot(extra: { sqFull: number; cqOverflow: number; cqOverflowPending: boolean }): MetricsSnapshot {
  return { enabled: false, ops: {}, totals: { count: 0, errors: 0, bytes: 0 }, ...extra, elapsedMs: 0 };
}

/** @internal For tests of the histogram itself. */
export const histogramInternals = { bucketOf, bucketRange, BUCKETS };
