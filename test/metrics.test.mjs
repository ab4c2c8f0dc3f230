// PerformanceMetrics: exact counts for a known workload on a real ring, sane
// percentiles, the SQ-full count, and the kernel's CQ overflow counter.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { Ring, Runtime, SaferRingConfig, PerformanceMetrics } from 'safer-ring';
import { patternFile, tmpPath, nativeBinding } from './helpers/env.mjs';

const withMetrics = (base = SaferRingConfig.default()) => SaferRingConfig.builder(base).metrics().build();

function checkLatency(name, l) {
  assert.ok(l.min >= 0, `${name} min`);
  assert.ok(l.min <= l.p50 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max, `${name} ordered: ${JSON.stringify(l)}`);
  assert.ok(l.mean >= l.min && l.mean <= l.max, `${name} mean`);
  assert.ok(l.max < 10_000_000, `${name} plausible (< 10 s)`);
}

/** 50 reads of 4 KiB, 3 reads that fail (EBADF), 20 writes of 1000 bytes, 10 nops, 2 timeouts. */
async function knownWorkload(ring) {
  const fd = fs.openSync(patternFile(1 << 20), 'r');
  const out = fs.openSync(tmpPath('metrics-out'), 'w');
  const ops = [];
  for (let i = 0; i < 50; i++) ops.push(ring.read(fd, new Uint8Array(4096), { position: i * 8192 }));
  for (let i = 0; i < 20; i++) ops.push(ring.write(out, new Uint8Array(1000), { position: i * 1000 }));
  for (let i = 0; i < 10; i++) ops.push(ring.nop());
  await Promise.all(ops);
  await ring.timeout(1);
  await ring.timeout(1);
  fs.closeSync(fd);
  for (let i = 0; i < 3; i++) await ring.read(fd, new Uint8Array(16), { position: 0 }).then(() => assert.unreachable(), (e) => assert.is(e.code, 'EBADF'));
  fs.closeSync(out);
}

function checkKnownWorkload(m) {
  assert.is(m.enabled, true);
  assert.equal(Object.keys(m.ops).sort(), ['nop', 'read', 'timeout', 'write']);
  assert.equal({ count: m.ops.read.count, errors: m.ops.read.errors, bytes: m.ops.read.bytes }, { count: 53, errors: 3, bytes: 50 * 4096 });
  assert.equal({ count: m.ops.write.count, errors: m.ops.write.errors, bytes: m.ops.write.bytes }, { count: 20, errors: 0, bytes: 20_000 });
  assert.equal({ count: m.ops.nop.count, errors: m.ops.nop.errors, bytes: m.ops.nop.bytes }, { count: 10, errors: 0, bytes: 0 });
  assert.equal({ count: m.ops.timeout.count, errors: m.ops.timeout.errors }, { count: 2, errors: 0 }, 'a fired timeout is no error');
  assert.equal(m.totals, { count: 85, errors: 3, bytes: 50 * 4096 + 20_000 });
  for (const [name, op] of Object.entries(m.ops)) checkLatency(name, op.latencyUs);
  // The kernel's timer never fires early; the fallback's setTimeout runs on libuv's millisecond clock.
  const floorUs = (process.env.SAFER_RING_BACKEND ?? 'io_uring') === 'fallback' ? 1 : 900;
  assert.ok(m.ops.timeout.latencyUs.min >= floorUs, 'a 1 ms timeout is not reported faster than it can fire');
  assert.type(m.cqOverflow, 'number');
  assert.is(m.cqOverflow, 0);
  assert.is(m.cqOverflowPending, false);
  assert.ok(m.elapsedMs > 0);
}

test('ring.metrics() counts ops, bytes and errors per opcode exactly for a known workload', async () => {
  const ring = Ring.withConfig(withMetrics());
  await knownWorkload(ring);
  checkKnownWorkload(ring.metrics());
  ring.resetMetrics();
  assert.equal(ring.metrics().ops, {});
  await ring.nop();
  assert.is(ring.metrics().ops.nop.count, 1);
  await ring.close();
});

test('metrics on DEFER_TASKRUN and SQPOLL (lowLatency) rings, and on the development preset', async () => {
  for (const cfg of [withMetrics(SaferRingConfig.builder().deferTaskrun().build()), withMetrics(SaferRingConfig.lowLatency()), SaferRingConfig.builder(SaferRingConfig.development()).logging(false).build()]) {
    const ring = Ring.withConfig(cfg);
    await knownWorkload(ring);
    checkKnownWorkload(ring.metrics());
    await ring.close();
  }
});

test('metrics disabled: metrics() says so and holds no ops, kernel counters are still read', async () => {
  const ring = new Ring(16);
  await ring.nop();
  const m = ring.metrics();
  assert.is(m.enabled, false);
  assert.equal(m.ops, {});
  assert.equal(m.totals, { count: 0, errors: 0, bytes: 0 });
  assert.type(m.cqOverflow, 'number');
  assert.type(m.sqFull, 'number');
  await ring.close();
});

test('sqFull counts flushes that left ops waiting for ring space', async () => {
  const ring = Ring.withConfig(SaferRingConfig.builder().entries(4).metrics().build());
  const fd = fs.openSync(patternFile(64 * 1024), 'r');
  await Promise.all(Array.from({ length: 100 }, (_, i) => ring.read(fd, new Uint8Array(512), { position: i * 512 })));
  const m = ring.metrics();
  assert.ok(m.sqFull > 0, `sqFull ${m.sqFull}`);
  assert.is(m.sqFull, ring.stats().sqFull);
  assert.is(m.ops.read.count, 100);
  assert.is(m.ops.read.bytes, 100 * 512);
  fs.closeSync(fd);
  await ring.close();
  // A ring large enough never fills.
  const big = Ring.withConfig(withMetrics());
  await Promise.all(Array.from({ length: 100 }, () => big.nop()));
  assert.is(big.metrics().sqFull, 0);
  await big.close();
});

((process.env.SAFER_RING_BACKEND ?? 'io_uring') === 'fallback' ? test.skip : test)('the native ring reports the kernel CQ overflow counter and SQ flags; a real overflow shows in them', async () => {
  const b = nativeBinding();
  const desc = new Int32Array(2 * 16);
  let delivered = 0;
  const onComplete = (n) => { delivered += n; };
  const raw = new b.NativeRing(2, 2 | 4, 0, desc, new Int32Array(2 * 2 * 4), new Int32Array(12), onComplete);
  raw.keepCallback = onComplete; // the native ring holds its callback weakly: its owner keeps it alive
  let info = raw.info();
  assert.type(info.cqOverflow, 'number');
  assert.type(info.sqFlags, 'number');
  assert.is(info.cqOverflow, 0);
  // 20 NOPs on a ring whose CQ holds 4, without reaping in between: the kernel must overflow.
  for (let k = 0; k < 10; k++) {
    for (let i = 0; i < 2; i++) {
      const d = i * 16;
      desc.fill(0, d, d + 16);
      desc[d + 1] = -1; // fd
      desc[d + 2] = k * 2 + i; // id
      desc[d + 5] = -1; // chunk
      desc[d + 12] = -1; // chunk2
    }
    raw.submit(2);
  }
  info = raw.info();
  assert.ok(info.sqFlags & 2, `IORING_SQ_CQ_OVERFLOW set by the kernel (sqFlags ${info.sqFlags})`);
  assert.type(info.cqOverflow, 'number', 'koverflow: completions the kernel had to drop (none: it kept them in its overflow list)');
  while (delivered < 20) await new Promise((r) => setTimeout(r, 5));
  assert.is(raw.info().sqFlags & 2, 0, 'overflow list flushed once reaped');
  raw.destroy();
});

test('runtime.metrics() merges the workers: exact counts, ordered percentiles, kernel counters', async () => {
  const rt = new Runtime({ config: withMetrics(), entries: 32 });
  await knownWorkload(rt);
  // Spread work over every worker.
  await Promise.all(Array.from({ length: 64 }, () => rt.nop()));
  const m = rt.metrics();
  assert.is(m.ops.nop.count, 74);
  m.ops.nop.count = 10;
  m.totals.count -= 64;
  checkKnownWorkload(m);
  rt.resetMetrics();
  assert.equal(rt.metrics().ops, {});
  await rt.close();

  const off = new Runtime({ workers: 1, entries: 8 });
  await off.nop();
  assert.is(off.metrics().enabled, false);
  assert.equal(off.metrics().ops, {});
  await off.close();
});

test('latency percentiles from the log-linear histogram are within one bucket (6.25%)', () => {
  const m = new PerformanceMetrics();
  // 1..10000 microseconds, once each.
  for (let us = 1; us <= 10_000; us++) m.record(0, 0, us / 1000);
  const l = m.snapshot({ sqFull: 0, cqOverflow: 0, cqOverflowPending: false }).ops.nop.latencyUs;
  const near = (got, want) => assert.ok(Math.abs(got - want) / want <= 0.0625, `${got} vs ${want}`);
  near(l.p50, 5000);
  near(l.p90, 9000);
  near(l.p99, 9900);
  assert.is(l.min, 1);
  assert.is(l.max, 10_000);
  near(l.mean, 5000.5);
  // Merging two halves gives the same percentiles as recording everything in one.
  const a = new PerformanceMetrics();
  const b = new PerformanceMetrics();
  for (let us = 1; us <= 10_000; us++) (us % 2 ? a : b).record(0, 0, us / 1000);
  const merged = PerformanceMetrics.merge([a, b]).snapshot({ sqFull: 0, cqOverflow: 0, cqOverflowPending: false }).ops.nop.latencyUs;
  assert.equal(merged, l);
});

test.run();
