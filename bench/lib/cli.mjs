// Command-line options shared by the benchmark scripts.
import { parseArgs } from 'node:util';
import { parseSize } from './datafile.mjs';

export const USAGE = `options:
  --rounds N      rounds; every variant runs once per round, interleaved (default 5)
  --seconds S     timed seconds per variant per round (default 1.5)
  --warmup S      untimed warm-up before each Node variant run (default 0.25)
  --size SIZE     data file size, e.g. 1g, 256m (default 1g)
  --only TEXT     run only variants whose name contains TEXT (repeatable)
  --json FILE     also write the results as JSON to FILE
  -h, --help      show this help`;

const OPTIONS = {
  rounds: { type: 'string', default: '5' },
  seconds: { type: 'string', default: '1.5' },
  warmup: { type: 'string', default: '0.25' },
  size: { type: 'string', default: '1g' },
  only: { type: 'string', multiple: true, default: [] },
  json: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
};

function positiveNumber(name, text, { integer = false, allowZero = false } = {}) {
  const n = Number(text);
  const ok = Number.isFinite(n) && (allowZero ? n >= 0 : n > 0) && (!integer || Number.isInteger(n));
  if (!ok) throw new Error(`--${name} must be a ${integer ? 'positive integer' : 'positive number'}: ${text}`);
  return n;
}

/** Parses argv into { rounds, seconds, warmup, size, only, json, help }. */
export function parseBenchArgs(argv) {
  const { values } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: false, strict: true });
  return {
    help: values.help,
    rounds: positiveNumber('rounds', values.rounds, { integer: true }),
    seconds: positiveNumber('seconds', values.seconds),
    warmup: positiveNumber('warmup', values.warmup, { allowZero: true }),
    size: parseSize(values.size),
    only: values.only.map((s) => s.toLowerCase()),
    json: values.json ?? null,
  };
}

/** True when a variant name passes the --only filters (none given: all pass). */
export function selected(only, name) {
  const lower = name.toLowerCase();
  return only.length === 0 || only.some((s) => lower.includes(s));
}

/**
 * parseBenchArgs for a script named `script` (bench/<script>.mjs): a bad
 * option prints the error and the usage and exits with status 2; --help
 * prints the usage (and `helpNote`, if any) and returns null.
 */
export function parseOrExit(script, argv, helpNote = '') {
  let opts;
  try {
    opts = parseBenchArgs(argv);
  } catch (err) {
    console.error(`${script}: ${err.message}\n${USAGE}`);
    process.exit(2);
  }
  if (opts.help) {
    console.log(`usage: node bench/${script}.mjs [options]\n${USAGE}${helpNote}`);
    return null;
  }
  return opts;
}

/**
 * Runs a benchmark's main() and exits explicitly when it is done: a handle
 * left open by a variant (a ring or a worker that did not close cleanly, say)
 * must not keep the benchmark from finishing.
 */
export function runMain(main) {
  main().then(
    () => process.exit(process.exitCode ?? 0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
