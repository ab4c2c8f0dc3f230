// SaferRingConfig, its presets and builder, against the real kernel: every
// setting must show up in the flags the kernel applied to the ring.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import {
  Ring, Runtime, OwnedBuffer, SaferRingConfig, ConfigBuilder, LogLevel, detectKernelSupport, validateConfig, setLeakWarnings,
} from 'safer-ring';
import { patternFile, pattern } from './helpers/env.mjs';

// Setup flags are io_uring's: on the fallback backend there is no kernel ring to inspect.
const kernelTest = (process.env.SAFER_RING_BACKEND ?? 'io_uring') === 'fallback' ? test.skip : test;

const [major, minor] = os.release().split('.').map(Number);
const modernKernel = major > 6 || (major === 6 && minor >= 1); // COOP_TASKRUN, SINGLE_ISSUER and DEFER_TASKRUN all exist

/** A logger that keeps every record, tagged with its level. */
function capture() {
  const records = [];
  const at = (level) => (record) => records.push({ level, ...record });
  return { records, logger: { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

const SIZE = 256 * 1024;
const DATA = pattern(SIZE);
const FILE = patternFile(SIZE);

/** Real reads, many in flight and then one at a time, each checked byte for byte. */
async function readsWork(ring) {
  const fd = fs.openSync(FILE, 'r');
  try {
    const ops = [];
    for (let i = 0; i < 200; i++) {
      const pos = (i * 4099) % (SIZE - 4096);
      ops.push(ring.readOwned(fd, new OwnedBuffer(4096), { position: pos }).then(({ bytesRead, buffer }) => {
        assert.is(bytesRead, 4096);
        assert.ok(Buffer.from(buffer.bytes).equals(DATA.subarray(pos, pos + 4096)), `read at ${pos}`);
        buffer.release();
      }));
    }
    await Promise.all(ops);
    for (let i = 0; i < 50; i++) {
      const pos = (i * 7919) % (SIZE - 512);
      const { bytesRead, buffer } = await ring.read(fd, new Uint8Array(512), { position: pos });
      assert.is(bytesRead, 512);
      assert.ok(Buffer.from(buffer).equals(DATA.subarray(pos, pos + 512)));
    }
    assert.is(await ring.nop(), 0);
  } finally {
    fs.closeSync(fd);
  }
}

const expectedFlags = (cfg) => {
  const r = cfg.ring;
  const k = detectKernelSupport();
  return [
    r.sqpoll && 'SQPOLL',
    r.coopTaskrun && k.coopTaskrun && 'COOP_TASKRUN',
    r.singleIssuer && k.singleIssuer && 'SINGLE_ISSUER',
    r.deferTaskrun && k.deferTaskrun && 'DEFER_TASKRUN',
  ].filter(Boolean);
};

kernelTest('presets produce rings whose kernel-applied flags are what the preset asked for', async () => {
  const dev = SaferRingConfig.development();
  assert.equal([dev.logging.enabled, dev.logging.level, dev.logging.metrics, dev.leakWarnings], [true, LogLevel.Debug, true, true]);
  const devLog = capture();
  dev.logging.logger = devLog.logger;
  const presets = {
    default: [SaferRingConfig.default(), ['COOP_TASKRUN', 'SINGLE_ISSUER']],
    lowLatency: [SaferRingConfig.lowLatency(), ['SQPOLL', 'SINGLE_ISSUER']],
    highThroughput: [SaferRingConfig.highThroughput(), ['COOP_TASKRUN', 'SINGLE_ISSUER']],
    development: [dev, ['COOP_TASKRUN', 'SINGLE_ISSUER']],
    autoDetect: [SaferRingConfig.autoDetect(), ['COOP_TASKRUN', 'SINGLE_ISSUER', 'DEFER_TASKRUN']],
  };
  for (const [name, [cfg, onModernKernel]] of Object.entries(presets)) {
    const ring = Ring.withConfig(cfg);
    const st = ring.stats();
    assert.equal(st.setupFlags, expectedFlags(cfg), name);
    if (modernKernel) assert.equal(st.setupFlags, onModernKernel, `${name} on ${os.release()}`);
    assert.is(ring.entries, cfg.ring.entries, `${name} entries`);
    assert.is(st.sqEntries, cfg.ring.entries);
    assert.is(st.cqEntries, cfg.ring.entries * 2);
    assert.equal(ring.config.ring, cfg.ring, `${name}: the ring keeps the config it was given`);
    assert.is(ring.metrics().enabled, cfg.logging.metrics, `${name} metrics`);
    await ring.close();
  }
  setLeakWarnings(false); // development() switched them on for the whole process
  assert.ok(devLog.records.some((r) => r.level === 'info' && r.msg === 'ring ready'), 'development logs setup');
  // The preset sizes really differ in the kernel.
  assert.ok(SaferRingConfig.lowLatency().ring.entries < SaferRingConfig.default().ring.entries);
  assert.ok(SaferRingConfig.highThroughput().ring.entries > SaferRingConfig.default().ring.entries);
});

test('autoDetect probes the kernel once and asks for exactly what it supports', () => {
  const a = detectKernelSupport();
  assert.is(detectKernelSupport(), a, 'cached');
  assert.type(a.appliedFlags, 'number');
  const cfg = SaferRingConfig.autoDetect();
  assert.is(cfg.ring.coopTaskrun, a.coopTaskrun);
  assert.is(cfg.ring.singleIssuer, a.singleIssuer);
  assert.is(cfg.ring.deferTaskrun, a.deferTaskrun);
  assert.is(cfg.ring.sqpoll, false);
  if (modernKernel) assert.ok(a.coopTaskrun && a.singleIssuer && a.deferTaskrun);
});

kernelTest('a builder config reaches the kernel: each flag switched off is off in the ring', async () => {
  const cfg = new ConfigBuilder().entries(16).coopTaskrun(false).singleIssuer(false).fixedBuffers(false).build();
  const ring = Ring.withConfig(cfg);
  assert.equal(ring.stats().setupFlags, []);
  assert.is(ring.stats().fixedBuffers, false);
  assert.is(ring.entries, 16);
  await readsWork(ring);
  await ring.close();
  // new Ring({ config }) is the same, and ring options beside it override the config.
  const ring2 = new Ring({ config: SaferRingConfig.highThroughput(), entries: 8, coopTaskrun: false });
  assert.is(ring2.entries, 8);
  assert.equal(ring2.stats().setupFlags, expectedFlags(new ConfigBuilder().coopTaskrun(false).build()));
  await ring2.close();
});

kernelTest('DEFER_TASKRUN rings deliver completions (real reads)', async () => {
  const ring = Ring.withConfig(SaferRingConfig.builder().deferTaskrun().build());
  if (detectKernelSupport().deferTaskrun) assert.ok(ring.stats().setupFlags.includes('DEFER_TASKRUN'));
  await readsWork(ring);
  // A kernel-timed op completes later, from outside the submit: only an io_uring_get_events call delivers it.
  const t0 = performance.now();
  await ring.timeout(20);
  assert.ok(performance.now() - t0 >= 15);
  assert.is(ring.stats().inFlight, 0);
  await ring.close();
});

kernelTest('SQPOLL rings deliver completions (lowLatency preset, and sqpoll via the builder)', async () => {
  const built = SaferRingConfig.builder().deferTaskrun().sqpoll(true, 50).entries(64).build();
  assert.is(built.ring.coopTaskrun, false, 'the builder switches off what the kernel refuses beside SQPOLL');
  assert.is(built.ring.deferTaskrun, false);
  for (const cfg of [SaferRingConfig.lowLatency(), built]) {
    let ring;
    try {
      ring = Ring.withConfig(cfg);
    } catch (err) {
      if (err.code === 'EPERM') return; // unprivileged on a kernel older than 5.11
      throw err;
    }
    assert.equal(ring.stats().setupFlags, expectedFlags(cfg));
    assert.ok(ring.stats().setupFlags.includes('SQPOLL'));
    await readsWork(ring);
    await ring.timeout(5);
    await ring.close();
  }
});

kernelTest('DEFER_TASKRUN without SINGLE_ISSUER is corrected (singleIssuer on) and logged at warn', async () => {
  const { records, logger } = capture();
  const cfg = new ConfigBuilder().deferTaskrun(true).singleIssuer(false).logging(true, LogLevel.Info).logger(logger).build();
  assert.is(cfg.ring.singleIssuer, true);
  assert.is(cfg.ring.deferTaskrun, true);
  const warn = records.find((r) => r.level === 'warn' && r.msg === 'configuration corrected');
  assert.ok(warn, 'a warn record');
  assert.is(warn.setting, 'singleIssuer');
  assert.is(warn.to, true);
  assert.match(warn.problem, /deferTaskrun requires singleIssuer/);
  const ring = Ring.withConfig(cfg);
  assert.equal(ring.stats().setupFlags, expectedFlags(cfg));
  if (modernKernel) assert.ok(ring.stats().setupFlags.includes('DEFER_TASKRUN'));
  await ring.close();

  // The same through plain Ring options, and through a config mutated after build().
  const mutated = SaferRingConfig.builder().deferTaskrun().build();
  mutated.ring.singleIssuer = false;
  const { corrections } = validateConfig(mutated.clone());
  assert.equal(corrections, ['deferTaskrun requires singleIssuer: singleIssuer enabled']);
  const ring2 = new Ring({ entries: 8, deferTaskrun: true, singleIssuer: false });
  if (modernKernel) assert.equal(ring2.stats().setupFlags, ['COOP_TASKRUN', 'SINGLE_ISSUER', 'DEFER_TASKRUN']);
  await ring2.close();
});

test('a strict builder rejects invalid combinations with a clear message', () => {
  const err = (fn) => { try { fn(); } catch (e) { return e; } assert.unreachable('should throw'); };
  let e = err(() => new ConfigBuilder().strict().deferTaskrun().singleIssuer(false).build());
  assert.is(e.code, 'ERR_INVALID_ARG_VALUE');
  assert.match(e.message, 'invalid configuration: deferTaskrun requires singleIssuer');
  e = err(() => new ConfigBuilder().strict().sqThreadIdleMs(10).build());
  assert.match(e.message, 'sqThreadIdleMs is only used with sqpoll');
  e = err(() => new ConfigBuilder().strict().sqpoll().deferTaskrun().build());
  assert.match(e.message, 'deferTaskrun cannot be combined with sqpoll');
});

test('sqThreadIdleMs without sqpoll is corrected and logged', () => {
  const { records, logger } = capture();
  const cfg = new ConfigBuilder().sqThreadIdleMs(5).logging().logger(logger).build();
  assert.is(cfg.ring.sqThreadIdleMs, 1000);
  assert.ok(records.some((r) => r.level === 'warn' && r.setting === 'sqThreadIdleMs' && r.from === 5));
});

test('entries outside 1..32768 and other bad values are rejected', () => {
  for (const n of [0, -1, 32769, 1.5, NaN, '8']) {
    assert.throws(() => new ConfigBuilder().entries(n).build(), (e) => e.code === 'ERR_OUT_OF_RANGE' && /config\.ring\.entries/.test(e.message), String(n));
    const cfg = SaferRingConfig.default();
    cfg.ring.entries = n;
    assert.throws(() => Ring.withConfig(cfg), (e) => e.code === 'ERR_OUT_OF_RANGE', `withConfig ${n}`);
  }
  assert.ok(new ConfigBuilder().entries(32768).build());
  assert.ok(new ConfigBuilder().entries(1).build());
  assert.throws(() => new ConfigBuilder().sqpoll().sqThreadIdleMs(-1).build(), (e) => e.code === 'ERR_OUT_OF_RANGE');
  assert.throws(() => new ConfigBuilder().logLevel('loud').build(), (e) => e.code === 'ERR_INVALID_ARG_VALUE');
  assert.throws(() => new ConfigBuilder().logger({ info() {} }).build(), (e) => e.code === 'ERR_INVALID_ARG_TYPE');
  assert.throws(() => Ring.withConfig({ ring: { entries: 8 } }), (e) => e.code === 'ERR_INVALID_ARG_TYPE');
  assert.is(new ConfigBuilder().logLevel('debug').build().logging.level, LogLevel.Debug);
});

test('a custom logger receives structured records: setup flags, op failures, every op at trace', async () => {
  const { records, logger } = capture();
  const cfg = SaferRingConfig.builder().entries(64).deferTaskrun().logging(true, LogLevel.Trace).logger(logger).metrics().build();
  const ring = Ring.withConfig(cfg);
  const ready = records.find((r) => r.msg === 'ring ready');
  assert.ok(ready, 'setup is logged');
  assert.is(ready.level, 'info');
  assert.equal(ready.appliedFlags, ring.stats().setupFlags);
  assert.equal(ready.requestedFlags, ['COOP_TASKRUN', 'SINGLE_ISSUER', 'DEFER_TASKRUN']);
  assert.is(ready.entries, 64);
  assert.is(typeof ready.fixedBuffers, 'boolean');

  const fd = fs.openSync(FILE, 'r');
  await ring.read(fd, new Uint8Array(100), { position: 0 });
  fs.closeSync(fd);
  await ring.read(fd, new Uint8Array(100), { position: 0 }).then(() => assert.unreachable(), (e) => assert.is(e.code, 'EBADF'));
  const done = records.find((r) => r.msg === 'op completed');
  assert.equal({ level: done.level, op: done.op, res: done.res }, { level: 'trace', op: 'read', res: 100 });
  assert.type(done.latencyUs, 'number');
  const failed = records.find((r) => r.msg === 'op failed');
  assert.equal({ level: failed.level, op: failed.op, res: failed.res }, { level: 'debug', op: 'read', res: -9 });
  await ring.close();

  // Below the threshold nothing arrives; with logging disabled, nothing at all.
  const quiet = capture();
  const r2 = Ring.withConfig(SaferRingConfig.builder().logging(true, 'warn').logger(quiet.logger).build());
  await r2.nop();
  await r2.close();
  const off = capture();
  const r3 = Ring.withConfig(SaferRingConfig.builder().logging(false).logger(off.logger).build());
  await r3.nop();
  await r3.close();
  assert.equal(quiet.records, []);
  assert.equal(off.records, []);
});

test('a logger with only debug/info/warn/error (pino-style) works, and a throwing logger never breaks I/O', async () => {
  const seen = [];
  const minimal = { debug: (r) => seen.push(r), info: (r) => seen.push(r), warn: (r) => seen.push(r), error: (r) => seen.push(r) };
  const ring = Ring.withConfig(SaferRingConfig.builder().logging(true, 'trace').logger(minimal).build());
  await ring.nop();
  assert.ok(seen.some((r) => r.msg === 'op completed' && r.op === 'nop'), 'trace goes to debug');
  await ring.close();
  const boom = () => { throw new Error('logger down'); };
  const ring2 = Ring.withConfig(SaferRingConfig.builder().logging(true, 'trace').logger({ debug: boom, info: boom, warn: boom, error: boom }).build());
  assert.is(await ring2.nop(), 0);
  await ring2.close();
});

kernelTest('new Runtime({ config }) gives every worker ring the config flags (applied by the kernel)', async () => {
  const { records, logger } = capture();
  const cfg = SaferRingConfig.builder().deferTaskrun().entries(32).logging(true, 'info').logger(logger).build();
  const rt = new Runtime({ config: cfg });
  await Promise.all(Array.from({ length: rt.workerCount * 4 }, () => rt.nop()));
  await readsWork(rt);
  const st = rt.stats();
  for (const w of st.perWorker) {
    assert.equal(w.setupFlags, expectedFlags(cfg), `worker ${w.threadId}`);
    assert.is(w.sqEntries, 32);
  }
  assert.is(rt.config.ring.deferTaskrun, true);
  const ready = records.filter((r) => r.msg === 'worker ring ready');
  assert.is(ready.length, rt.workerCount);
  assert.equal(ready[0].appliedFlags, expectedFlags(cfg));
  await rt.close();

  // And the other way round: flags switched off are off in the workers' rings.
  const plain = new Runtime({ workers: 1, config: SaferRingConfig.builder().coopTaskrun(false).singleIssuer(false).build() });
  await plain.nop();
  assert.equal(plain.stats().perWorker[0].setupFlags, []);
  await plain.close();
});

test.run();
