#!/usr/bin/env node
// `safer-ring cp`: the copy job from the command line, with cp's conventions:
//
//   safer-ring cp [-r] [options] SRC DST      copy SRC to DST (into DST if it is a directory)
//   safer-ring cp [-r] [options] SRC... DIR   copy each SRC into the directory DIR
//
// Messages go to stderr, the --json summary to stdout; exit status 0 when
// everything was copied, 1 when anything failed (or nothing could start),
// 130 after Ctrl-C. On a terminal a live progress bar (cli-progress: it
// handles terminal width, redraw throttling and cursor control, which a
// hand-written bar gets wrong on the edges); otherwise a plain line every
// couple of seconds, which reads well in CI logs.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type cliProgressTypes from 'cli-progress';
import type { CopyFileResult, CopySummary } from './job';
import type { CopyOptions, CopyProgress, OverwriteMode } from './options';
import { baseName, display, joinBytes, stripTrailingSlashes } from './paths';
import { formatBytes, formatDuration, progressLine } from './progress';

const NAME = 'safer-ring';

const USAGE = `Usage: ${NAME} cp [OPTION]... SRC DST
  or:  ${NAME} cp [OPTION]... SRC... DIRECTORY
Copy SRC to DST, or each SRC into DIRECTORY, on io_uring worker threads.
Every file is written under a temporary name and renamed into place when
complete, so an interrupted copy never leaves a partial file.

  -r, -R, --recursive     copy directories and their contents
  -p, --preserve          keep mode, ownership, timestamps and hard links
  -L, --dereference       copy what symlinks point to (default: copy links as links)
      --verify            re-read both sides and compare SHA-256 before renaming
      --overwrite=MODE    when a destination file exists: error (default: fail that
                          file, touch nothing), replace, or skip-identical (skip when
                          size and mtime match)
      --special           recreate FIFOs and device nodes (default: skip with a warning)
      --fail-fast         stop at the first failure
      --workers=N         worker threads (default: CPUs - 1, from 1 to 8; single files:
                          0, which copies on the main thread)
      --concurrency=N     tasks in flight per worker (default 4)
  -q, --quiet             no progress and no summary (errors are still printed)
      --json              print the summary as JSON on stdout
  -h, --help              show this help
  -V, --version           show the version

Exit status: 0 if everything was copied, 1 if anything failed, 130 if interrupted.`;

const TOP_USAGE = `Usage: ${NAME} <command> [options]

Commands:
  cp      copy files and directory trees (${NAME} cp --help)

  -h, --help      show this help
  -V, --version   show the version`;

interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

class UsageError extends Error {}

function version(): string {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return (require(path.join(__dirname, '..', '..', '..', 'package.json')) as { version: string }).version;
}

function nonNegativeInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`invalid --${name} value '${value}': a whole number is needed`);
  return n;
}

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`invalid --${name} value '${value}': a positive integer is needed`);
  return n;
}

const OVERWRITE: readonly string[] = ['error', 'replace', 'skip-identical'];

/** Runs the CLI; resolves to the exit status. */
export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const say = (text: string): void => {
    io.stderr.write(`${text}\n`);
  };
  if (argv.length === 0 || argv[0] === '-h' || argv[0] === '--help') {
    (argv.length === 0 ? io.stderr : io.stdout).write(`${TOP_USAGE}\n`);
    return argv.length === 0 ? 1 : 0;
  }
  if (argv[0] === '-V' || argv[0] === '--version') {
    io.stdout.write(`${NAME} ${version()}\n`);
    return 0;
  }
  if (argv[0] !== 'cp') {
    say(`${NAME}: unknown command '${argv[0]}'\nTry '${NAME} --help' for more information.`);
    return 1;
  }
  const prefix = `${NAME} cp`;
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv.slice(1),
      allowPositionals: true,
      options: {
        recursive: { type: 'boolean', short: 'r' },
        R: { type: 'boolean', short: 'R' },
        preserve: { type: 'boolean', short: 'p' },
        dereference: { type: 'boolean', short: 'L' },
        verify: { type: 'boolean' },
        overwrite: { type: 'string' },
        special: { type: 'boolean' },
        'fail-fast': { type: 'boolean' },
        workers: { type: 'string' },
        concurrency: { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
    }));
  } catch (err) {
    say(`${prefix}: ${(err as Error).message}\nTry '${prefix} --help' for more information.`);
    return 1;
  }
  if (values.help) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.version) {
    io.stdout.write(`${NAME} ${version()}\n`);
    return 0;
  }
  let options: CopyOptions;
  try {
    const overwrite = (values.overwrite as string | undefined) ?? 'error';
    if (!OVERWRITE.includes(overwrite)) throw new UsageError(`invalid --overwrite value '${overwrite}': use error, replace or skip-identical`);
    if (positionals.length === 0) throw new UsageError('missing file operand');
    if (positionals.length === 1) throw new UsageError(`missing destination file operand after '${positionals[0]}'`);
    options = {
      recursive: Boolean(values.recursive || values.R),
      preserve: Boolean(values.preserve),
      dereference: Boolean(values.dereference),
      verify: Boolean(values.verify),
      overwrite: overwrite as OverwriteMode,
      special: Boolean(values.special),
      failFast: Boolean(values['fail-fast']),
      workers: nonNegativeInt('workers', values.workers as string | undefined),
      concurrency: positiveInt('concurrency', values.concurrency as string | undefined),
    };
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    say(`${prefix}: ${err.message}\nTry '${prefix} --help' for more information.`);
    return 1;
  }

  // cp's conventions: the last operand is the target; into it when it is a
  // directory (or when there are several sources, which requires that).
  const target = Buffer.from(positionals[positionals.length - 1]);
  const sources = positionals.slice(0, -1).map((s) => Buffer.from(s));
  const targetStat = await fsp.stat(target).catch(() => undefined);
  const intoDir = targetStat?.isDirectory() === true;
  if (sources.length > 1 && !intoDir) {
    say(`${prefix}: target '${display(target)}' is not a directory`);
    return 1;
  }
  let status = 0;
  const pairs: { src: Buffer; dst: Buffer }[] = [];
  for (const src of sources) {
    const st = await fsp.lstat(src).catch((err: NodeJS.ErrnoException) => err);
    if (st instanceof Error) {
      say(`${prefix}: cannot stat '${display(src)}': ${describe(st)}`);
      status = 1;
      continue;
    }
    const isDir = st.isDirectory() || (options.dereference === true && (await fsp.stat(src).then((s) => s.isDirectory(), () => false)));
    if (isDir && !options.recursive) {
      say(`${prefix}: -r not specified; omitting directory '${display(src)}'`);
      status = 1;
      continue;
    }
    pairs.push({ src, dst: intoDir ? joinBytes(target, baseName(stripTrailingSlashes(src))) : target });
  }
  if (pairs.length === 0) return status;

  // Loaded only now: --help, --version and usage errors answer without
  // starting the thread pool's and the ring's modules.
  const { createCopyJob, kBlockingAllowed } = require('./job') as typeof import('./job');
  // Single files are copied on this thread (the job's default when no source
  // is a directory): a worker would cost more to start than the copy. This
  // thread has nothing else to do, so it may block, which is faster.
  const job = createCopyJob(pairs, { ...options, [kBlockingAllowed]: true } as CopyOptions);
  const display_ = values.quiet ? null : io.stderr.isTTY ? new BarDisplay(io.stderr) : new LineDisplay(io.stderr);
  const log = (line: string): void => (display_ ? display_.log(line) : say(line));
  job.on('file', (r: CopyFileResult) => {
    if (r.status === 'failed') log(`${prefix}: cannot copy '${r.src}': ${describe(r.error)}`);
  });
  job.on('warning', (text: string) => {
    if (!values.quiet) log(`${prefix}: warning: ${text}`);
  });
  job.on('progress', (p: CopyProgress) => display_?.update(p));
  let interrupted = false;
  const onSigint = (): void => {
    interrupted = true;
    display_?.log(`${prefix}: interrupted; stopping (temporaries are removed)...`);
    job.abort();
  };
  process.once('SIGINT', onSigint);
  let summary: CopySummary;
  try {
    summary = await job.done;
  } catch (err) {
    const s = (err as { summary?: CopySummary }).summary;
    display_?.stop();
    if (s === undefined) {
      say(`${prefix}: ${describe(err)}`);
      return 1;
    }
    summary = s;
    if (!interrupted && (err as { code?: string }).code !== 'ABORT_ERR') say(`${prefix}: stopped: ${describe(err)}`);
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  display_?.stop();
  // Failures found while listing (unreadable directories) have no 'file' event of their own.
  reportUnprinted(summary, say, prefix);
  if (values.json) io.stdout.write(`${JSON.stringify(jsonSummary(summary))}\n`);
  if (!values.quiet) say(summaryLine(summary));
  if (interrupted) return 130;
  return summary.failed.length > 0 || summary.aborted || status !== 0 ? 1 : 0;
}

const printedFailures = new WeakSet<Error>();

function reportUnprinted(summary: CopySummary, say: (t: string) => void, prefix: string): void {
  for (const f of summary.failed) {
    if (printedFailures.has(f.error)) continue;
    say(`${prefix}: cannot copy '${f.path}': ${describe(f.error)}`);
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) printedFailures.add(err);
  const e = err as { code?: string; message?: string };
  return e?.message ?? String(err);
}

export function summaryLine(s: CopySummary): string {
  const secs = s.elapsedMs / 1000;
  const parts = [
    `${s.aborted ? 'stopped after copying' : 'copied'} ${s.files} file${s.files === 1 ? '' : 's'}, ${s.directories} director${s.directories === 1 ? 'y' : 'ies'}, ${formatBytes(s.bytes)}`,
    `in ${secs < 10 ? secs.toFixed(2) : formatDuration(secs)} s`,
    `(${Math.round(s.filesPerSecond).toLocaleString('en-US')} files/s, ${formatBytes(s.bytesPerSecond)}/s)`,
  ];
  let line = parts.join(' ');
  if (s.skipped.length > 0) line += `; ${s.skipped.length} skipped`;
  if (s.failed.length > 0) line += `; ${s.failed.length} failed`;
  return line;
}

function jsonSummary(s: CopySummary): object {
  return {
    ...s,
    failed: s.failed.map((f) => ({ path: f.path, code: (f.error as { code?: string }).code, message: f.error.message })),
  };
}

interface ProgressDisplay {
  update(p: CopyProgress): void;
  log(line: string): void;
  stop(): void;
}

/** A live bar on a terminal. */
class BarDisplay implements ProgressDisplay {
  readonly #multi: cliProgressTypes.MultiBar;
  readonly #bar: cliProgressTypes.SingleBar;
  #stopped = false;

  constructor(stream: NodeJS.WriteStream) {
    const cliProgress = require('cli-progress') as typeof cliProgressTypes;
    this.#multi = new cliProgress.MultiBar({
      stream,
      format: ' {bar} {percentage}% | {done} of {total} | {files} files | {rate}/s | ETA {eta_text}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: true,
      fps: 10,
      autopadding: true,
    }, cliProgress.Presets.shades_classic);
    this.#bar = this.#multi.create(1, 0, { done: '0 B', total: '?', files: '0', rate: '0 B', eta_text: '--:--' });
  }

  update(p: CopyProgress): void {
    if (this.#stopped) return;
    const total = Math.max(1, p.bytesTotal);
    this.#bar.setTotal(total);
    this.#bar.update(Math.min(p.bytesDone, total), {
      done: formatBytes(p.bytesDone),
      total: `${formatBytes(p.bytesTotal)}${p.planned ? '' : '+'}`,
      files: `${p.filesDone}/${p.filesTotal}${p.planned ? '' : '+'}`,
      rate: formatBytes(p.bytesPerSecond),
      eta_text: formatDuration(p.etaSeconds),
    });
  }

  log(line: string): void {
    if (this.#stopped) process.stderr.write(`${line}\n`);
    else this.#multi.log(`${line}\n`);
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#multi.stop();
  }
}

/** Plain lines when stderr is not a terminal: one when the totals are known, then one every 2 s. */
class LineDisplay implements ProgressDisplay {
  #last = -Infinity;
  /** The latest progress not printed yet: printed at the end, so the last line says where the job got to. */
  #unprinted: CopyProgress | null = null;
  constructor(private readonly stream: NodeJS.WriteStream) {}

  update(p: CopyProgress): void {
    const now = performance.now();
    if (!p.planned || now - this.#last < 2000) {
      this.#unprinted = p.planned ? p : null;
      return;
    }
    this.#last = now;
    this.#unprinted = null;
    this.stream.write(`${progressLine(p)}\n`);
  }

  log(line: string): void {
    this.stream.write(`${line}\n`);
  }

  stop(): void {
    if (this.#unprinted !== null) this.stream.write(`${progressLine(this.#unprinted)}\n`);
    this.#unprinted = null;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`${NAME}: ${(err as Error)?.stack ?? err}\n`);
      process.exitCode = 1;
    },
  );
}
