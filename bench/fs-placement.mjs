#!/usr/bin/env node
// Where safer-ring/fs/promises should run its operations: the calling
// thread's inline Ring, or a Runtime's worker threads. The operations the fs
// layer issues (statx of a path, open + close, a 4 KiB read at a position)
// through each, with 64 in flight (throughput) and with 1 (latency), side by
// side in one run. docs/fs.md quotes the result.
//
//   node bench/fs-placement.mjs [--rounds N] [--seconds S] [--only TEXT]
import fs from 'node:fs';
import path from 'node:path';
import { parseOrExit, runMain, selected } from './lib/cli.mjs';
import { dataDir } from './lib/paths.mjs';
import { Clock, LatencyRecorder, runLanes, withDeadline } from './lib/lanes.mjs';
import { RandomPositions } from './lib/rng.mjs';
import { runRounds } from './lib/rounds.mjs';
import { machineLine } from './lib/report.mjs';
import { columns, formatInt, median, printTable } from './lib/stats.mjs';
import { loadSaferRing } from './lib/saferring.mjs';

const FILES = 1000;
const DATA = 64 * 1024 * 1024;

async function main() {
  const opts = parseOrExit('fs-placement', process.argv.slice(2));
  if (!opts) return;
  const loaded = await loadSaferRing(['Ring', 'Runtime'], 256);
  if (loaded.error) throw new Error(loaded.error);
  const { Ring, Runtime } = loaded.lib;
  console.log(`# fs placement: ${machineLine()}; backend ${loaded.backend}`);

  const dir = path.join(dataDir, 'fs', 'placement');
  fs.mkdirSync(dir, { recursive: true });
  const files = Array.from({ length: FILES }, (_, i) => path.join(dir, `f${i}`));
  for (const f of files) if (!fs.existsSync(f)) fs.writeFileSync(f, 'x'.repeat(100));
  const data = path.join(dir, 'data.bin');
  if (!fs.existsSync(data) || fs.statSync(data).size !== DATA) fs.writeFileSync(data, Buffer.alloc(DATA, 1));
  fs.readFileSync(data);
  const dataFd = fs.openSync(data, 'r');

  const targets = {
    'inline Ring': () => new Ring(256),
    'Runtime 1 worker': () => new Runtime({ workers: 1 }),
    'Runtime 2 workers': () => new Runtime({ workers: 2 }),
  };
  const ops = {
    'statx(path)': (t) => { let k = 0; return () => t.statx(files[(k += 7) % FILES]); },
    'openat + close': (t) => { let k = 0; return async () => t.closeFd(await t.openat(files[(k += 7) % FILES])); },
    'read 4 KiB at a position': (t) => {
      const pos = new RandomPositions(DATA);
      const buf = Buffer.alloc(4096);
      return () => t.read(dataFd, buf, { position: pos.next() });
    },
  };
  const variants = [];
  for (const [opName, op] of Object.entries(ops)) {
    for (const qd of [64, 1]) {
      for (const tName of Object.keys(targets)) {
        const name = `${opName} QD${qd} ${tName}`;
        if (selected(opts.only, name)) variants.push({ name, opName, op, qd, tName });
      }
    }
  }
  const instances = new Map();
  const state = await runRounds(variants, opts, {
    setup: async (v) => {
      if (!instances.has(v.tName)) instances.set(v.tName, targets[v.tName]());
      return instances.get(v.tName);
    },
    run: async (v, target, seconds) => {
      if (v.qd === 1) {
        const next = v.op(target);
        const rec = new LatencyRecorder(seconds);
        for (;;) {
          const t0 = performance.now();
          await next();
          if (rec.record(t0, performance.now())) break;
        }
        return rec.result();
      }
      const clock = new Clock(seconds);
      return withDeadline(runLanes(64, clock, async () => {
        const next = v.op(target);
        while (!clock.done) {
          await next();
          clock.tick();
        }
      }), seconds * 1000 + 30_000, v.name);
    },
    sample: (_v, r) => ({ rate: r.ops / r.seconds, p50: r.p50 }),
    line: (v, s) => `  ${v.name}: ${formatInt(s.rate)} ops/s${v.qd === 1 ? `, p50 ${s.p50.toFixed(1)} us` : ''}`,
  });
  for (const t of instances.values()) await t.close();
  fs.closeSync(dataFd);
  const rows = variants.map((v) => {
    const s = state.get(v).samples;
    return [v.opName, `QD${v.qd}`, v.tName, formatInt(median(s.map((x) => x.rate))), v.qd === 1 ? median(s.map((x) => x.p50)).toFixed(1) : ''];
  });
  console.log('');
  printTable(columns('<operation', '<QD', '<through', 'ops/s', 'p50 us'), rows);
}

runMain(main);
