#!/usr/bin/env node
// Does the linked chain of safer-ring/fs/promises' readFile pay for itself?
// The same work two ways, on the fs layer's own ring, for 4 KiB files:
// linked (open into a direct-descriptor slot → read 64 KiB → read 16 KiB, one
// submit) and separate (open; then read; then read; three submits, plain fd);
// each copies the bytes out and closes without waiting. 64 in flight (ops/s,
// CPU µs per op: user + system, all threads) and 1 (p25/p50 latency),
// variants interleaved, medians over the rounds. docs/fs.md quotes the result.
//
//   node bench/fs-chain.mjs [--rounds N]   (--seconds, --size and --only do not apply)
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { dataDir } from './lib/paths.mjs';
import { parseOrExit, runMain } from './lib/cli.mjs';

const require = createRequire(import.meta.url);
async function main() {
  const opts = parseOrExit('fs-chain', process.argv.slice(2));
  if (!opts) return;
  const rounds = opts.rounds;
  // Internals of the fs layer (not public API): its ring, slots, the linked-group seam, scratch slots.
  const { fsRing, takeSlot, closeSlot } = require('../dist/src/fs/ring-context.js');
  const { kLinkedGroup } = require('../dist/src/ring/ring.js');
  const { Scratch } = require('../dist/src/fs/scratch.js');
  const fsp = require('safer-ring/fs/promises');
  const dir = path.join(dataDir, 'fs', 'chain');
  fs.mkdirSync(dir, { recursive: true });
  const files = Array.from({ length: 1000 }, (_, i) => path.join(dir, `f${i}`));
  for (const f of files) if (!fs.existsSync(f)) fs.writeFileSync(f, Buffer.alloc(4096, 1));
  await fsp.readFile(files[0]); // sets up the ring
  const ring = fsRing();
  const variants = {
    linked: async (p, a, b) => {
      const s = takeSlot();
      const [o, r1, r2] = ring[kLinkedGroup](() => [
        ring.openat(p, 'r', 0o666, { fileSlot: s }), ring.read(s, a.bytes, { position: -1 }), ring.read(s, b.bytes, { position: -1 }),
      ], ['none', 'link', 'hardlink']);
      await o;
      const n = (await r1).bytesRead;
      await r2;
      const out = Buffer.allocUnsafeSlow(n);
      out.set(a.bytes.subarray(0, n));
      void closeSlot(ring, s);
      return out;
    },
    separate: async (p, a, b) => {
      const fd = await ring.openat(p, 'r');
      const n = (await ring.read(fd, a.bytes, { position: -1 })).bytesRead;
      await ring.read(fd, b.bytes, { position: -1 });
      const out = Buffer.allocUnsafeSlow(n);
      out.set(a.bytes.subarray(0, n));
      void ring.closeFd(fd);
      return out;
    },
  };
  const res = {};
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 ? Object.entries(variants).reverse() : Object.entries(variants);
    for (const [name, fn] of order) {
      let i = 0;
      const n = 20000;
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      await Promise.all(Array.from({ length: 64 }, async () => {
        const a = new Scratch(65536);
        const b = new Scratch(16384);
        while (i < n) await fn(files[i++ % files.length], a, b);
        a.release();
        b.release();
      }));
      const c = process.cpuUsage(c0);
      (res[`QD64 ${name}`] ??= { 'ops/s': [], 'cpu us/op': [] });
      res[`QD64 ${name}`]['ops/s'].push(n / ((performance.now() - t0) / 1000));
      res[`QD64 ${name}`]['cpu us/op'].push((c.user + c.system) / n);
      const a = new Scratch(65536);
      const b = new Scratch(16384);
      const xs = [];
      for (let j = 0; j < 3000; j++) {
        const t = performance.now();
        await fn(files[j % files.length], a, b);
        xs.push(performance.now() - t);
      }
      a.release();
      b.release();
      xs.sort((x, y) => x - y);
      (res[`QD1 ${name}`] ??= { 'p25 us': [], 'p50 us': [] });
      res[`QD1 ${name}`]['p25 us'].push(xs[750] * 1000);
      res[`QD1 ${name}`]['p50 us'].push(xs[1500] * 1000);
    }
  }
  const med = (v) => [...v].sort((x, y) => x - y)[v.length >> 1];
  for (const [k, r] of Object.entries(res)) console.log(k.padEnd(15), Object.entries(r).map(([m, v]) => `${m} ${med(v).toFixed(1)}`).join('   '));
}

runMain(main);
