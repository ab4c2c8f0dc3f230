// SaferRingConfig: everything that shapes a ring (its io_uring setup flags and
// size), its logging and metrics, and leak warnings, with presets for common
// uses and a fluent builder that validates.
//
// Validation rules (validateConfig):
//   - entries must be an integer in 1..32768 and sqThreadIdleMs in 0..600000:
//     anything else is rejected with ERR_OUT_OF_RANGE;
//   - combinations the kernel refuses are corrected, and each correction is
//     logged at warn (and listed in `corrections`), or rejected with
//     ERR_INVALID_ARG_VALUE when the builder is strict:
//       * deferTaskrun without singleIssuer: singleIssuer is switched on
//         (the kernel requires it for DEFER_TASKRUN);
//       * sqpoll with coopTaskrun or deferTaskrun: those are switched off
//         (the kernel rejects them with SQPOLL: completions are not run by
//         the submitting task there);
//       * sqThreadIdleMs without sqpoll: ignored (reset to the default).
import { SaferRingError } from './errors';
import { consoleLogger, isLogger, Logger, LogLevel, LogSink, parseLogLevel, SILENT, logLevelName } from './logging';
import { binding } from './native';
import {
  SETUP_COOP_TASKRUN, SETUP_DEFER_TASKRUN, SETUP_FIXED_BUFFERS, SETUP_SINGLE_ISSUER, SETUP_SQPOLL,
  DESC_WORDS, COMPLETION_WORDS, IOV_WORDS,
} from './ring/descriptor';
import { invalidType, outOfRange } from './validate';

export const MAX_ENTRIES = 32768;
export const DEFAULT_ENTRIES = 256;
export const DEFAULT_SQ_THREAD_IDLE_MS = 1000;

/** The io_uring itself. */
export interface RingConfig {
  /** Submission queue size, 1..32768 (the kernel rounds up to a power of two; the CQ is twice as large). */
  entries: number;
  /** IORING_SETUP_SQPOLL: a kernel thread polls the submission queue (costs a CPU while busy). */
  sqpoll: boolean;
  /** How long the SQPOLL thread spins idle before it sleeps, in ms. Only with sqpoll. */
  sqThreadIdleMs: number;
  /** IORING_SETUP_COOP_TASKRUN (5.19+). */
  coopTaskrun: boolean;
  /** IORING_SETUP_SINGLE_ISSUER (6.0+): only the creating thread submits. */
  singleIssuer: boolean;
  /** IORING_SETUP_DEFER_TASKRUN (6.1+, needs singleIssuer): completion work runs only when the ring is polled. */
  deferTaskrun: boolean;
  /** Register arena chunks as fixed buffers (READ_FIXED / WRITE_FIXED); falls back silently when the kernel refuses. */
  fixedBuffers: boolean;
}

export interface LoggingConfig {
  /** Master switch for log records (metrics are separate). */
  enabled: boolean;
  /** Least severe level that is logged. */
  level: LogLevel;
  /** Collect PerformanceMetrics (op counts, bytes, latency percentiles). Off: no per-op timestamps at all. */
  metrics: boolean;
  /** Where records go. Default: the console. */
  logger: Logger;
}

/** A plain, mutable configuration. Validate it (or build it with ConfigBuilder) before use; rings validate it again. */
export class SaferRingConfig {
  ring: RingConfig;
  logging: LoggingConfig;
  /** Warn (process.emitWarning) when an OwnedBuffer is garbage-collected without release(). Process-wide: true switches it on. */
  leakWarnings: boolean;

  constructor(init: { ring?: Partial<RingConfig>; logging?: Partial<LoggingConfig>; leakWarnings?: boolean } = {}) {
    this.ring = {
      entries: DEFAULT_ENTRIES,
      sqpoll: false,
      sqThreadIdleMs: DEFAULT_SQ_THREAD_IDLE_MS,
      coopTaskrun: true,
      singleIssuer: true,
      deferTaskrun: false,
      fixedBuffers: true,
      ...init.ring,
    };
    this.logging = { enabled: false, level: LogLevel.Info, metrics: false, logger: consoleLogger, ...init.logging };
    this.leakWarnings = init.leakWarnings ?? false;
  }

  /** The library's defaults: what `new Ring()` uses. */
  static default(): SaferRingConfig {
    return new SaferRingConfig();
  }

  /**
   * Small ring with a kernel thread polling its submission queue (SQPOLL +
   * SINGLE_ISSUER): submitting needs no system call while the thread is
   * awake, which measured the shortest round trip for one op at a time
   * (bench/presets.mjs). The price is a CPU the poller keeps busy until it
   * has been idle for sqThreadIdleMs. Needs Linux 5.11+ without privileges.
   */
  static lowLatency(): SaferRingConfig {
    return new SaferRingConfig({
      ring: { entries: 64, sqpoll: true, sqThreadIdleMs: DEFAULT_SQ_THREAD_IDLE_MS, coopTaskrun: false, singleIssuer: true, deferTaskrun: false, fixedBuffers: true },
    });
  }

  /** Large ring for deep queues and big batches: more ops per submit, fewer flushes that find the ring full. */
  static highThroughput(): SaferRingConfig {
    return new SaferRingConfig({ ring: { entries: 4096, coopTaskrun: true, singleIssuer: true, deferTaskrun: false, fixedBuffers: true } });
  }

  /** Defaults plus debug logging to the console, metrics and leak warnings. */
  static development(): SaferRingConfig {
    return new SaferRingConfig({ logging: { enabled: true, level: LogLevel.Debug, metrics: true }, leakWarnings: true });
  }

  /**
   * The defaults with every optional setup flag this kernel accepts switched
   * on (COOP_TASKRUN, SINGLE_ISSUER, DEFER_TASKRUN), found by creating a tiny
   * probe ring once per thread and reading back the flags the kernel applied.
   * Never SQPOLL (it costs a CPU): ask for it explicitly.
   */
  static autoDetect(): SaferRingConfig {
    const k = detectKernelSupport();
    return new SaferRingConfig({
      ring: { coopTaskrun: k.coopTaskrun, singleIssuer: k.singleIssuer, deferTaskrun: k.deferTaskrun && k.singleIssuer, fixedBuffers: k.fixedBuffers },
    });
  }

  static builder(base?: SaferRingConfig): ConfigBuilder {
    return new ConfigBuilder(base);
  }

  /** A deep copy (the logger object is shared). */
  clone(): SaferRingConfig {
    return new SaferRingConfig({ ring: { ...this.ring }, logging: { ...this.logging }, leakWarnings: this.leakWarnings });
  }
}

/** Fluent construction; `build()` validates (see the rules at the top of this file). */
export class ConfigBuilder {
  #cfg: SaferRingConfig;
  #strict = false;

  constructor(base?: SaferRingConfig) {
    this.#cfg = base instanceof SaferRingConfig ? base.clone() : new SaferRingConfig();
  }

  entries(n: number): this { this.#cfg.ring.entries = n; return this; }
  /** SQPOLL on (or off); on also switches coopTaskrun and deferTaskrun off, which the kernel refuses beside it. */
  sqpoll(on = true, idleMs?: number): this {
    this.#cfg.ring.sqpoll = on;
    if (on) {
      this.#cfg.ring.coopTaskrun = false;
      this.#cfg.ring.deferTaskrun = false;
    }
    if (idleMs !== undefined) this.#cfg.ring.sqThreadIdleMs = idleMs;
    return this;
  }
  sqThreadIdleMs(ms: number): this { this.#cfg.ring.sqThreadIdleMs = ms; return this; }
  coopTaskrun(on = true): this { this.#cfg.ring.coopTaskrun = on; return this; }
  singleIssuer(on = true): this { this.#cfg.ring.singleIssuer = on; return this; }
  deferTaskrun(on = true): this { this.#cfg.ring.deferTaskrun = on; return this; }
  fixedBuffers(on = true): this { this.#cfg.ring.fixedBuffers = on; return this; }
  /** Enables logging at `level` (default Info). */
  logging(on = true, level?: LogLevel | string): this {
    this.#cfg.logging.enabled = on;
    if (level !== undefined) this.#cfg.logging.level = level as LogLevel;
    return this;
  }
  logLevel(level: LogLevel | string): this { this.#cfg.logging.level = level as LogLevel; return this; }
  logger(logger: Logger): this { this.#cfg.logging.logger = logger; return this; }
  metrics(on = true): this { this.#cfg.logging.metrics = on; return this; }
  leakWarnings(on = true): this { this.#cfg.leakWarnings = on; return this; }
  /** Reject invalid combinations instead of correcting them. */
  strict(on = true): this { this.#strict = on; return this; }

  /** Validates and returns a new config; throws on values out of range (and, when strict, on invalid combinations). */
  build(): SaferRingConfig {
    return validateConfig(this.#cfg.clone(), { strict: this.#strict }).config;
  }
}

/** Kernel support for the optional setup flags, as found by probe rings. */
export interface KernelSupport {
  coopTaskrun: boolean;
  singleIssuer: boolean;
  deferTaskrun: boolean;
  fixedBuffers: boolean;
  /** The raw applied flag bits of the probe ring. */
  appliedFlags: number;
}

let detected: KernelSupport | null = null;

/** Probes once per thread (cached): a 2-entry ring asked for every optional flag; the addon drops what the kernel refuses. */
export function detectKernelSupport(): KernelSupport {
  if (detected !== null) return detected;
  let flags = 0;
  if (binding !== null) {
    const want = SETUP_COOP_TASKRUN | SETUP_SINGLE_ISSUER | SETUP_DEFER_TASKRUN | SETUP_FIXED_BUFFERS;
    try {
      const probe = new binding.NativeRing(
        2, want, 0, new Int32Array(2 * DESC_WORDS), new Int32Array(4 * COMPLETION_WORDS), new Int32Array(IOV_WORDS), () => {},
      );
      flags = probe.info().flags;
      probe.destroy();
    } catch {
      flags = 0; // no io_uring at all: a Ring will fail with the reason
    }
  }
  detected = {
    coopTaskrun: (flags & SETUP_COOP_TASKRUN) !== 0,
    singleIssuer: (flags & SETUP_SINGLE_ISSUER) !== 0,
    deferTaskrun: (flags & SETUP_DEFER_TASKRUN) !== 0,
    fixedBuffers: (flags & SETUP_FIXED_BUFFERS) !== 0,
    appliedFlags: flags,
  };
  return detected;
}

export interface ValidationResult {
  config: SaferRingConfig;
  /** Human-readable corrections that were applied (each was also logged at warn). */
  corrections: string[];
}

function checkBool(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidType(name, 'of type boolean', value);
  return value;
}

/**
 * Checks and normalises `cfg` in place. Out-of-range numbers and wrong types
 * throw; invalid flag combinations are corrected (logged at warn through the
 * config's own logger when logging is enabled) or, with `strict`, rejected.
 */
export function validateConfig(cfg: SaferRingConfig, options: { strict?: boolean } = {}): ValidationResult {
  if (!(cfg instanceof SaferRingConfig)) throw invalidType('config', 'an instance of SaferRingConfig', cfg);
  const r = cfg.ring;
  const l = cfg.logging;
  if (typeof r.entries !== 'number' || !Number.isInteger(r.entries) || r.entries < 1 || r.entries > MAX_ENTRIES) {
    throw outOfRange('config.ring.entries', `an integer >= 1 && <= ${MAX_ENTRIES}`, r.entries);
  }
  if (typeof r.sqThreadIdleMs !== 'number' || !Number.isInteger(r.sqThreadIdleMs) || r.sqThreadIdleMs < 0 || r.sqThreadIdleMs > 600_000) {
    throw outOfRange('config.ring.sqThreadIdleMs', 'an integer >= 0 && <= 600000', r.sqThreadIdleMs);
  }
  for (const k of ['sqpoll', 'coopTaskrun', 'singleIssuer', 'deferTaskrun', 'fixedBuffers'] as const) checkBool(`config.ring.${k}`, r[k]);
  checkBool('config.logging.enabled', l.enabled);
  checkBool('config.logging.metrics', l.metrics);
  checkBool('config.leakWarnings', cfg.leakWarnings);
  l.level = parseLogLevel(l.level, 'config.logging.level');
  if (!isLogger(l.logger)) throw invalidType('config.logging.logger', 'an object with debug, info, warn and error methods', l.logger);

  const sink = sinkOf(cfg);
  const corrections: string[] = [];
  const fix = (problem: string, correction: string, fields: Record<string, unknown>, apply: () => void) => {
    if (options.strict) throw SaferRingError.for('ERR_INVALID_ARG_VALUE', `invalid configuration: ${problem}`);
    apply();
    corrections.push(`${problem}: ${correction}`);
    sink.warn('configuration corrected', { problem, correction, ...fields });
  };
  if (r.sqpoll && r.deferTaskrun) {
    fix('deferTaskrun cannot be combined with sqpoll', 'deferTaskrun disabled', { setting: 'deferTaskrun', from: true, to: false }, () => {
      r.deferTaskrun = false;
    });
  }
  if (r.sqpoll && r.coopTaskrun) {
    fix('coopTaskrun cannot be combined with sqpoll', 'coopTaskrun disabled', { setting: 'coopTaskrun', from: true, to: false }, () => {
      r.coopTaskrun = false;
    });
  }
  if (r.deferTaskrun && !r.singleIssuer) {
    fix('deferTaskrun requires singleIssuer', 'singleIssuer enabled', { setting: 'singleIssuer', from: false, to: true }, () => {
      r.singleIssuer = true;
    });
  }
  if (!r.sqpoll && r.sqThreadIdleMs !== DEFAULT_SQ_THREAD_IDLE_MS) {
    fix('sqThreadIdleMs is only used with sqpoll', `sqThreadIdleMs reset to ${DEFAULT_SQ_THREAD_IDLE_MS}`,
      { setting: 'sqThreadIdleMs', from: r.sqThreadIdleMs, to: DEFAULT_SQ_THREAD_IDLE_MS }, () => {
        r.sqThreadIdleMs = DEFAULT_SQ_THREAD_IDLE_MS;
      });
  }
  return { config: cfg, corrections };
}

/** The setup flag bits the addon takes for a validated ring config. */
export function setupFlagsOf(r: RingConfig): number {
  let flags = 0;
  if (r.sqpoll) flags |= SETUP_SQPOLL;
  if (r.coopTaskrun) flags |= SETUP_COOP_TASKRUN;
  if (r.singleIssuer) flags |= SETUP_SINGLE_ISSUER;
  if (r.deferTaskrun) flags |= SETUP_DEFER_TASKRUN;
  if (r.fixedBuffers) flags |= SETUP_FIXED_BUFFERS;
  return flags;
}

const FLAG_NAMES: [number, string][] = [
  [SETUP_SQPOLL, 'SQPOLL'], [SETUP_COOP_TASKRUN, 'COOP_TASKRUN'],
  [SETUP_SINGLE_ISSUER, 'SINGLE_ISSUER'], [SETUP_DEFER_TASKRUN, 'DEFER_TASKRUN'],
];

/** Names of the io_uring setup flags in `bits` (fixed buffers are reported separately). */
export function setupFlagNames(bits: number): string[] {
  return FLAG_NAMES.filter(([bit]) => bits & bit).map(([, name]) => name);
}

/** @internal The log sink a config asks for. */
export function sinkOf(cfg: SaferRingConfig): LogSink {
  return cfg.logging.enabled ? new LogSink(cfg.logging.logger, cfg.logging.level) : SILENT;
}

/** @internal Logs how a ring came up: requested vs applied flags (info), kernel refusals (warn). */
export function logRingSetup(sink: LogSink, what: string, requested: number, applied: number, fields: Record<string, unknown>): void {
  if (!sink.enabled(LogLevel.Info)) return;
  const req = setupFlagNames(requested);
  const got = setupFlagNames(applied);
  sink.info(`${what} ready`, {
    requestedFlags: req, appliedFlags: got,
    fixedBuffers: (applied & SETUP_FIXED_BUFFERS) !== 0, ...fields,
  });
  const dropped = req.filter((n) => !got.includes(n));
  if (dropped.length > 0) sink.warn('the kernel did not apply some requested setup flags', { dropped, appliedFlags: got, ...fields });
  if ((requested & SETUP_FIXED_BUFFERS) && !(applied & SETUP_FIXED_BUFFERS)) {
    sink.info('fixed buffers unavailable (registration refused); using plain reads and writes', fields);
  }
}

export { logLevelName };
