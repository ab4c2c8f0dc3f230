// Structured logging. The library never prints on its own: a ring or runtime
// logs only when its configuration enables logging, and then through a
// pluggable logger. Any object with debug/info/warn/error methods taking one
// record object works (pino, bunyan-style loggers, or a test's capture), and
// the default writes one line per record to the console.
//
// Records are plain objects: `{ msg, ...fields }`. Field names are stable and
// documented in docs/logging-metrics.md.
import { SaferRingError } from './errors';

/** Severity, least to most severe. `Off` disables logging altogether. */
export enum LogLevel {
  Trace = 0,
  Debug = 1,
  Info = 2,
  Warn = 3,
  Error = 4,
  Off = 5,
}

/** One log record: a message plus structured fields. */
export interface LogRecord {
  msg: string;
  [field: string]: unknown;
}

/** What a logger must provide. `trace` is optional: trace records go to `debug` without it. */
export interface Logger {
  trace?(record: LogRecord): void;
  debug(record: LogRecord): void;
  info(record: LogRecord): void;
  warn(record: LogRecord): void;
  error(record: LogRecord): void;
}

export type LogLevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'off';

const NAMES: readonly LogLevelName[] = ['trace', 'debug', 'info', 'warn', 'error', 'off'];

/** Accepts a LogLevel or its lower-case name; throws ERR_INVALID_ARG_VALUE otherwise. */
export function parseLogLevel(value: unknown, name = 'level'): LogLevel {
  if (typeof value === 'number' && Number.isInteger(value) && value >= LogLevel.Trace && value <= LogLevel.Off) return value;
  if (typeof value === 'string') {
    const i = NAMES.indexOf(value.toLowerCase() as LogLevelName);
    if (i >= 0) return i;
  }
  throw new SaferRingError(
    'ERR_INVALID_ARG_VALUE',
    `The argument '${name}' must be a LogLevel or one of ${NAMES.map((n) => `'${n}'`).join(', ')}. Received ${String(value)}`,
  );
}

export function logLevelName(level: LogLevel): LogLevelName {
  return NAMES[level];
}

/** True when `value` can serve as a Logger. */
export function isLogger(value: unknown): value is Logger {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return ['debug', 'info', 'warn', 'error'].every((m) => typeof v[m] === 'function');
}

function line(level: LogLevelName, record: LogRecord): string {
  const { msg, ...fields } = record;
  const rest = Object.keys(fields).length === 0 ? '' : ` ${JSON.stringify(fields, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`;
  return `safer-ring ${level}: ${msg}${rest}`;
}

/** The default logger: one line per record on the console (stderr for warn and error). */
export const consoleLogger: Logger = {
  trace: (r) => console.debug(line('trace', r)),
  debug: (r) => console.debug(line('debug', r)),
  info: (r) => console.info(line('info', r)),
  warn: (r) => console.warn(line('warn', r)),
  error: (r) => console.error(line('error', r)),
};

/**
 * What the library logs through (not exported from the package root): a logger plus a threshold. Calls
 * below the threshold cost one comparison; callers check `enabled(level)`
 * before building a record that needs work.
 */
export class LogSink {
  readonly logger: Logger;
  readonly level: LogLevel;

  constructor(logger: Logger, level: LogLevel) {
    this.logger = logger;
    this.level = level;
  }

  enabled(level: LogLevel): boolean {
    return level >= this.level && this.level !== LogLevel.Off;
  }

  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (!this.enabled(level)) return;
    const record: LogRecord = { msg, ...fields };
    const l = this.logger;
    try {
      switch (level) {
        case LogLevel.Trace: (l.trace ?? l.debug).call(l, record); break;
        case LogLevel.Debug: l.debug(record); break;
        case LogLevel.Info: l.info(record); break;
        case LogLevel.Warn: l.warn(record); break;
        default: l.error(record); break;
      }
    } catch {
      // A failing logger must never break I/O.
    }
  }

  trace(msg: string, fields?: Record<string, unknown>): void { this.log(LogLevel.Trace, msg, fields); }
  debug(msg: string, fields?: Record<string, unknown>): void { this.log(LogLevel.Debug, msg, fields); }
  info(msg: string, fields?: Record<string, unknown>): void { this.log(LogLevel.Info, msg, fields); }
  warn(msg: string, fields?: Record<string, unknown>): void { this.log(LogLevel.Warn, msg, fields); }
  error(msg: string, fields?: Record<string, unknown>): void { this.log(LogLevel.Error, msg, fields); }
}

/** A sink that drops everything (logging disabled). */
export const SILENT = new LogSink(consoleLogger, LogLevel.Off);
