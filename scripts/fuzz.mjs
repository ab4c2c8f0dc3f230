#!/usr/bin/env node
// npm run fuzz [-- --time <seconds> | --iterations <n>] [--seed <n>] [--only native|race|api|fs|net]
//
// The long run of the fuzzers whose short fixed-seed runs are part of
// `npm test`: the native boundary fuzzer (test/fuzz/native-child.mjs), the
// submit race check (native-race-child.mjs), the API sequence fuzzer
// (api-child.mjs), and the drop-ins' fuzzers, safer-ring/fs/promises
// (fs-child.mjs) and safer-ring/net (net-child.mjs), each on both backends.
// Each batch runs in a child process of its
// own; a crash, hang or violation stops the run and prints the seed that
// reproduces it. Bounded by time (default 60 s in all, split between the
// fuzzers) or by iterations (native rounds per batch; API sequences per
// batch), so it always ends by itself. Seeds are random unless --seed is given.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChild } from '../test/fuzz/run-child.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fuzzDir = path.join(root, 'test', 'fuzz');
const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const iterations = opt('iterations') === undefined ? null : Number(opt('iterations'));
const totalMs = Number(opt('time', iterations === null ? 60 : 0)) * 1000;
let seed = Number(opt('seed', Math.floor(Math.random() * 2 ** 31)));
const only = opt('only');

const lanes = [
  { name: 'native', share: 0.45, batch: (s, ms) => runChild(path.join(fuzzDir, 'native-child.mjs'), ['--seed', String(s), ...(iterations === null ? ['--time-ms', String(ms)] : ['--iterations', String(iterations)])]) },
  { name: 'race', share: 0.1, batch: (_s, ms) => runChild(path.join(fuzzDir, 'native-race-child.mjs'), ['--time-ms', String(iterations === null ? ms : 2000)]) },
  ...['io_uring', 'fallback'].map((backend) => ({
    name: `api/${backend}`,
    share: 0.15,
    batch: (s, ms) => runChild(path.join(fuzzDir, 'api-child.mjs'), ['--seed', String(s), '--runs', String(iterations ?? 20), '--steps', '40', ...(iterations === null ? ['--time-ms', String(ms)] : [])], {
      env: { SAFER_RING_BACKEND: backend },
      timeoutMs: Math.max(180_000, ms * 3),
    }),
  })),
  ...['io_uring', 'fallback'].map((backend) => ({
    name: `fs/${backend}`,
    share: backend === 'io_uring' ? 0.1 : 0.05,
    batch: (s, ms) => runChild(path.join(fuzzDir, 'fs-child.mjs'), ['--seed', String(s), '--runs', String(iterations ?? 50), '--steps', '60', ...(iterations === null ? ['--time-ms', String(ms)] : [])], {
      env: { SAFER_RING_BACKEND: backend },
      timeoutMs: Math.max(180_000, ms * 3),
    }),
  })),
  ...['io_uring', 'fallback'].map((backend) => ({
    name: `net/${backend}`,
    share: backend === 'io_uring' ? 0.1 : 0.05,
    batch: (s, ms) => runChild(path.join(fuzzDir, 'net-child.mjs'), ['--seed', String(s), '--runs', String(iterations ?? 30), '--steps', '30', ...(iterations === null ? ['--time-ms', String(ms)] : [])], {
      env: { SAFER_RING_BACKEND: backend },
      timeoutMs: Math.max(180_000, ms * 3),
    }),
  })),
].filter((l) => only === undefined || l.name.startsWith(only));

const BATCH_MS = 15_000; // one child's share before a new seed: a crash costs little, and seeds vary
const totals = {};
let failed = false;
for (const lane of lanes) {
  const laneMs = totalMs * lane.share / lanes.reduce((n, l) => n + l.share, 0);
  const t0 = Date.now();
  const sum = (totals[lane.name] = { batches: 0, iterations: 0, accepted: 0, sequences: 0, steps: 0, firstSeed: seed });
  do {
    const ms = Math.max(1000, Math.min(BATCH_MS, laneMs - (Date.now() - t0)));
    const s = seed++;
    const r = await lane.batch(s, ms);
    sum.batches++;
    if (r.verdict?.skipped) { sum.skipped = r.verdict.skipped; break; }
    const st = r.verdict?.stats ?? {};
    sum.iterations += st.iterations ?? 0;
    sum.accepted += st.accepted ?? 0;
    sum.sequences += st.sequences ?? 0;
    sum.steps += st.steps ?? 0;
    if (!r.ok) {
      failed = true;
      process.stdout.write(`\n!! ${lane.name}, seed ${s}: ${r.why}\n${r.output}\n`);
      break;
    }
  } while (iterations === null && Date.now() - t0 < laneMs);
  process.stdout.write(`${lane.name}: ${JSON.stringify(sum)}\n`);
}
process.stdout.write(failed ? 'fuzz: FAILED (see the seed above)\n' : 'fuzz: no crash, no violation\n');
process.exitCode = failed ? 1 : 0;
