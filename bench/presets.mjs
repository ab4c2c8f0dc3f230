#!/usr/bin/env node
// Random 4 KiB reads from a page-cached file through rings built from each
// SaferRingConfig preset, side by side: throughput at 64 reads in flight and
// round-trip latency at one read in flight.
//
// Every preset's ring is created once (outside the timed region) and kept
// across rounds; variants run one at a time, interleaved round by round with
// a rotating start, each after a short untimed warm-up. The header prints the
// setup flags the kernel applied to each ring, so the table compares what
// really ran, not what was asked for.
//
//   node bench/presets.mjs [--rounds N] [--seconds S] [--size 256m] [--only TEXT]
import fs from 'node:fs';
import os from 'node:os';
import { parseOrExit, runMain, selected } from './lib/cli.mjs';
import { BLOCK, ensureDataFile, formatBytes, warmPageCache } from './lib/datafile.mjs';
import { checkRead, Clock, percentileMicros, runLanes } from './lib/lanes.mjs';
import { machineLine, writeJson } from './lib/report.mjs';
import { RandomPositions } from './lib/rng.mjs';
import { interleave } from './lib/rounds.mjs';
import { columns, formatInt, formatRatio, formatTimes, max, median, min, printTable } from './lib/stats.mjs';

const QD = 64;

/** The configurations compared, by name. `development` adds metrics and debug logging (to a no-op logger here). */
function presets(lib) {
  const { SaferRingConfig } = lib;
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const dev = SaferRingConfig.development();
  dev.logging.logger = quiet;
  dev.leakWarnings = false;
  return [
    ['default', SaferRingConfig.default()],
    ['lowLatency', SaferRingConfig.lowLatency()],
    ['highThroughput', SaferRingConfig.highThroughput()],
    ['autoDetect', SaferRingConfig.autoDetect()],
    ['development', dev],
    ['deferTaskrun', SaferRingConfig.builder().deferTaskrun().build()],
  ];
}

/** QD lanes of readOwned until `seconds` pass; with `latencies`, each QD1 read is timed. */
function runReads(ring, fd, buffers, positions, qd, seconds, latencies) {
  const clock = new Clock(seconds);
  return runLanes(qd, clock, async (i) => {
    let buf = buffers[i];
    try {
      while (!clock.done) {
        const t0 = latencies ? performance.now() : 0;
        const { bytesRead, buffer } = await ring.readOwned(fd, buf, { position: positions.next() });
        if (latencies) latencies.push(performance.now() - t0);
        buf = buffer;
        checkRead(bytesRead);
        clock.tick();
      }
    } finally {
      buffers[i] = buf;
    }
  });
}

async function main() {
  const opts = parseOrExit('presets', process.argv.slice(2));
  if (!opts) return;
  let lib;
  try {
    const mod = await import('safer-ring');
    lib = { Ring: mod.Ring ?? mod.default.Ring, OwnedBuffer: mod.OwnedBuffer ?? mod.default.OwnedBuffer, SaferRingConfig: mod.SaferRingConfig ?? mod.default.SaferRingConfig };
    if (typeof lib.SaferRingConfig !== 'function') throw new Error('safer-ring does not export SaferRingConfig');
  } catch (err) {
    console.error(`presets: cannot load safer-ring (run \`npm run build\`): ${String(err.message).split('\n')[0]}`);
    process.exit(1);
  }

  const file = ensureDataFile(opts.size, (msg) => console.log(msg));
  const warmSeconds = warmPageCache(file);
  const cpus = os.cpus();
  console.log(`presets: ${BLOCK} B random reads, page-cached file, readOwned on a Ring per preset`);
  console.log(`  ${machineLine()}`);
  console.log(`  file ${file} (${formatBytes(opts.size)}, cache warm-up ${warmSeconds.toFixed(2)} s)`);
  console.log(`  ${opts.rounds} rounds x ${opts.seconds} s per variant, ${opts.warmup} s warm-up`);

  // One ring per preset, shared by its QD64 and QD1 variants.
  const rings = new Map();
  const notes = [];
  for (const [name, cfg] of presets(lib)) {
    try {
      const ring = lib.Ring.withConfig(cfg);
      const st = ring.stats();
      rings.set(name, { ring, fd: fs.openSync(file, 'r') });
      console.log(`  ${name.padEnd(15)} entries ${String(st.sqEntries).padStart(5)}  flags ${st.setupFlags.join('|') || '(none)'}${st.fixedBuffers ? ' +fixed buffers' : ''}${cfg.logging.metrics ? ' +metrics' : ''}`);
    } catch (err) {
      notes.push(`${name}: ring setup failed (${err.message}); its variants are skipped`);
    }
  }
  for (const note of notes) console.log(`  note: ${note}`);
  console.log('');

  const variants = [];
  for (const [name, r] of rings) {
    for (const qd of [QD, 1]) {
      const positions = new RandomPositions(opts.size, 0x9e3779b9 ^ (qd * 977) ^ name.length);
      const buffers = Array.from({ length: qd }, () => new lib.OwnedBuffer(BLOCK));
      variants.push({ name: `${name} QD${qd}`, preset: name, qd, ...r, positions, buffers, samples: [], p50: [], p99: [], error: null });
    }
  }
  const active = variants.filter((v) => selected(opts.only, v.name));
  if (active.length === 0) {
    console.error(`presets: no variant matches --only ${opts.only.join(', ')}`);
    process.exit(2);
  }

  await interleave(active, opts.rounds, async (v) => {
    if (v.error) return;
    try {
      if (opts.warmup > 0) await runReads(v.ring, v.fd, v.buffers, v.positions, v.qd, opts.warmup, null);
      const lat = v.qd === 1 ? [] : null;
      const r = await runReads(v.ring, v.fd, v.buffers, v.positions, v.qd, opts.seconds, lat);
      v.samples.push(r.ops / r.seconds);
      let extra = '';
      if (lat) {
        lat.sort((a, b) => a - b);
        v.p50.push(percentileMicros(lat, 0.5));
        v.p99.push(percentileMicros(lat, 0.99));
        extra = `  p50 ${formatRatio(v.p50.at(-1))} us  p99 ${formatRatio(v.p99.at(-1))} us`;
      }
      console.log(`  ${v.name.padEnd(22)} ${formatInt(r.ops / r.seconds).padStart(11)} ops/s${extra}`);
    } catch (err) {
      v.error = err.message;
      console.log(`  ${v.name}: FAILED (${err.message})`);
    }
  });

  // Metrics the development ring collected over the whole run (its own view of the same reads).
  const devRing = rings.get('development')?.ring;
  const devMetrics = devRing?.metrics();
  for (const { ring, fd } of rings.values()) {
    await ring.close();
    fs.closeSync(fd);
  }

  const base = (qd) => median(active.find((v) => v.preset === 'default' && v.qd === qd)?.samples ?? []);
  console.log('');
  console.log(`QD${QD}: median ops/s over ${opts.rounds} rounds`);
  printTable(
    columns('<preset', 'median ops/s', 'min', 'max', 'vs default'),
    active.filter((v) => v.qd === QD).map((v) => [
      v.error ? `${v.preset} (failed)` : v.preset, formatInt(median(v.samples)), formatInt(min(v.samples)), formatInt(max(v.samples)),
      formatTimes(median(v.samples) / base(QD)),
    ]),
  );
  console.log('');
  console.log('QD1: one read in flight (per-round p50/p99 of every read, median over rounds)');
  printTable(
    columns('<preset', 'median ops/s', 'p50 us', 'p99 us', 'ops/s vs default'),
    active.filter((v) => v.qd === 1).map((v) => [
      v.error ? `${v.preset} (failed)` : v.preset, formatInt(median(v.samples)), formatRatio(median(v.p50)), formatRatio(median(v.p99)),
      formatTimes(median(v.samples) / base(1)),
    ]),
  );
  if (devMetrics?.enabled && devMetrics.ops.read) {
    const m = devMetrics.ops.read;
    console.log('');
    console.log(`development ring's own metrics (warm-ups included): ${formatInt(m.count)} reads, ${formatBytes(m.bytes)}, ` +
      `latency p50 ${m.latencyUs.p50} us, p90 ${m.latencyUs.p90} us, p99 ${m.latencyUs.p99} us; sqFull ${devMetrics.sqFull}, cqOverflow ${devMetrics.cqOverflow}`);
  }
  if (opts.json) {
    const report = {
      benchmark: 'presets', date: new Date().toISOString(), node: process.version, kernel: os.release(), cpus: cpus.length,
      fileSize: opts.size, rounds: opts.rounds, seconds: opts.seconds,
      results: active.map((v) => ({ name: v.name, qd: v.qd, samples: v.samples, median: median(v.samples), p50Us: median(v.p50), p99Us: median(v.p99), error: v.error })),
      notes,
    };
    writeJson(opts.json, report);
  }
  if (active.some((v) => v.error)) process.exitCode = 1;
}

runMain(main);
