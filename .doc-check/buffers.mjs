import { Ring, OwnedBuffer, BufferPool, PooledBuffer, PinnedBuffer, MAX_BUFFER_SIZE, createPipe } from 'safer-ring';
const ring = new Ring();
const [rfd, wfd] = createPipe();

const pool = new BufferPool(2, 4096);
console.log(pool.stats(), pool.count, pool.size);
const a = pool.get();
const b = await pool.acquire();
console.log('a pooled', a instanceof PooledBuffer, a instanceof OwnedBuffer, pool.get());
const waiting = pool.acquire();
console.log(pool.stats());
a.release();
const c = await waiting;
console.log('waiter got a buffer', c.length, pool.stats());
// pooled buffer round trip
c.bytes.set(Buffer.from('ping'));
const w = await ring.writeOwned(wfd, c, { length: 4 });
console.log('writeOwned returns PooledBuffer', w.buffer instanceof PooledBuffer, w.bytesWritten);
const r = await ring.readOwned(rfd, w.buffer);
console.log(Buffer.from(r.buffer.bytes.subarray(0, r.bytesRead)).toString(), r.buffer instanceof PooledBuffer);
r.buffer.release(); b.release();
console.log(pool.stats());
const ac = new AbortController();
pool.get(); pool.get();
const pa = pool.acquire({ signal: ac.signal }); ac.abort();
try { await pa; } catch (e) { console.log('acquire aborted', e.code); }
const pc = pool.acquire(); pool.close();
try { await pc; } catch (e) { console.log('pool closed', e.code, e.message); }

// OwnedBuffer basics
const ob = OwnedBuffer.from([1, 2, 3]);
console.log(ob.length, ob.bytes, ob.isValid);
ob.release(); console.log(ob.isValid, ob.length); ob.release();
console.log(typeof Symbol.dispose, typeof OwnedBuffer.prototype[Symbol.dispose]);

// PinnedBuffer with read/write (zero-copy borrow)
const pin = PinnedBuffer.from(Buffer.from('pinned!'));
await ring.write(wfd, pin.bytes);
const pin2 = PinnedBuffer.withCapacity(16);
const rr = await ring.read(rfd, pin2.bytes);
console.log('pinned read', Buffer.from(pin2.bytes.subarray(0, rr.bytesRead)).toString(), rr.buffer === pin2.bytes);
pin.release(); pin2.release();
console.log(ring.stats().arena, MAX_BUFFER_SIZE);
// readv / writev
const wv = await ring.writev(wfd, [Buffer.from('ab'), OwnedBuffer.from(Buffer.from('cd')).bytes]);
console.log('writev', wv.bytesWritten);
const parts = [Buffer.alloc(1), Buffer.alloc(3)];
const rv = await ring.readv(rfd, parts);
console.log('readv', rv.bytesRead, parts.map(String));
await ring.close();
