// Feature detection, and the degraded path each feature takes on an older kernel.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import {
  Ring, BufferGroup, FeatureDetector, getEnvironmentInfo, isIoUringAvailable, createTcpListener, createTcpSocket,
} from 'safer-ring';
import { backend } from './helpers/env.mjs';

const onIoUring = backend === 'io_uring';
const kernelTest = onIoUring ? test : test.skip;
test.after(() => FeatureDetector.simulateKernel(null));

test('getEnvironmentInfo reports the kernel, the backend, the sysctl, the memlock limit and the probe', () => {
  const info = getEnvironmentInfo();
  assert.is(info.kernel, os.release());
  assert.is(info.backend, backend);
  assert.is(isIoUringAvailable(), onIoUring);
  assert.is(info.simulated, false);
  assert.ok(info.memlockLimitBytes === null || info.memlockLimitBytes > 0);
  const sysctl = fs.existsSync('/proc/sys/kernel/io_uring_disabled')
    ? Number(fs.readFileSync('/proc/sys/kernel/io_uring_disabled', 'utf8'))
    : null;
  assert.is(info.ioUringDisabledSysctl, sysctl);
  if (onIoUring) {
    assert.is(info.opcodes.READ, true, 'the kernel probe answered');
    assert.is(info.paths.completionDelivery, 'eventfd watched by libuv');
  } else {
    assert.is(info.backendReason, 'SAFER_RING_BACKEND=fallback');
    assert.ok(Object.values(info.features).every((f) => f === false), 'no io_uring feature on the fallback');
    assert.is(info.paths.completionDelivery, 'libuv thread pool (fallback)');
  }
});

test('simulating an older kernel turns newer features off and says which path replaces each', () => {
  FeatureDetector.simulateKernel('5.15');
  const info = getEnvironmentInfo();
  assert.is(info.simulated, true);
  assert.is(info.kernelVersion, '5.15');
  for (const f of ['bufferRings', 'multishotAccept', 'multishotRecv', 'singleIssuer', 'deferTaskrun', 'coopTaskrun']) {
    assert.is(info.features[f], false, f);
  }
  assert.is(info.paths.multishotAccept, 're-armed single-shot');
  assert.is(info.paths.multishotRecv, 're-armed single-shot');
  assert.is(info.paths.bufferSelection, 'plain buffers picked by the library');
  FeatureDetector.simulateKernel('6.0');
  const six = getEnvironmentInfo();
  assert.is(six.features.multishotAccept, onIoUring);
  assert.is(six.features.deferTaskrun, false, '6.1 feature');
  FeatureDetector.simulateKernel(null);
  assert.is(getEnvironmentInfo().simulated, false);
  assert.throws(() => FeatureDetector.simulateKernel('old'), (e) => e.code === 'ERR_INVALID_ARG_VALUE');
});

kernelTest('on a simulated 5.15 kernel, buffer groups and multishot take their degraded paths and still move the bytes', async () => {
  FeatureDetector.simulateKernel('5.15');
  const ring = new Ring(16);
  try {
    const listener = createTcpListener();
    const accepts = ring.acceptMulti(listener.fd);
    const clients = [createTcpSocket(), createTcpSocket()];
    await Promise.all(clients.map((c) => ring.connect(c, { host: '127.0.0.1', port: listener.port })));
    const servers = [];
    for await (const fd of accepts) {
      servers.push(fd);
      if (servers.length === 2) break;
    }
    assert.is(accepts.stats().mode, 'single-shot');
    assert.is(accepts.stats().moreCqes, 0, 'no multishot CQE was asked for');

    const group = new BufferGroup(ring, { id: 77, count: 2, size: 32 });
    assert.is(group.mode, 'plain', 'no buffer ring registered');
    const received = ring.recvMulti(servers[0], group);
    const want = ['one', 'two', 'three'];
    let got = '';
    const reader = (async () => {
      for await (const r of received) {
        got += Buffer.from(r.buffer.bytes.subarray(0, r.bytesRead)).toString();
        r.buffer.release();
        if (got.length >= want.join('').length) break;
      }
    })();
    for (const w of want) {
      await ring.send(clients[0], Buffer.from(w));
      await new Promise((res) => setTimeout(res, 2));
    }
    await reader;
    assert.is(got, 'onetwothree');
    assert.is(received.stats().mode, 'single-shot');
    assert.is(group.stats().kernelSelections, 0, 'the library picked the buffers');
    group.close();
    for (const fd of [...servers, ...clients, listener.fd]) fs.closeSync(fd);
  } finally {
    FeatureDetector.simulateKernel(null);
    await ring.close();
  }
});

kernelTest('on the real kernel the same calls use kernel multishot and a buffer ring', async () => {
  const ring = new Ring(16);
  const group = new BufferGroup(ring, { id: 78, count: 2, size: 32 });
  assert.is(group.mode, 'ring');
  group.close();
  await ring.close();
});

test.run();
