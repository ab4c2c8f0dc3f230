import { Ring, OwnedBuffer, createPipe, SaferRingError } from 'safer-ring';
const ring = new Ring(32);
const [rfd, wfd] = createPipe();

// AbortSignal on an in-flight read of an empty pipe
const ac = new AbortController();
let buf = new OwnedBuffer(64);
const p = ring.readOwned(rfd, buf, { signal: ac.signal });
console.log('old handle valid?', buf.isValid);
try { buf.bytes } catch (e) { console.log('moved:', e.code, e.name, e.message); }
setTimeout(() => ac.abort(), 20);
try { await p; } catch (e) { console.log('abort:', e.code, e.name, e.message, e instanceof SaferRingError, e.cause); }
console.log(ring.stats());

// ring.cancel(promise)
const p2 = ring.read(rfd, Buffer.alloc(10));
await new Promise((r) => setTimeout(r, 10));
const c = ring.cancel(p2);
console.log('cancel returned', await c);
try { await p2; } catch (e) { console.log('p2:', e.code, e.name); }
console.log('cancel settled ->', await ring.cancel(p2), 'cancel other ->', await ring.cancel(Promise.resolve()));

// cancel while still queued (same tick)
const p3 = ring.nop();
console.log('cancel queued', await ring.cancel(p3));
try { await p3; } catch (e) { console.log('p3:', e.code); }

// already aborted signal
try { await ring.nop({ signal: AbortSignal.abort() }); } catch (e) { console.log('pre-aborted:', e.code); }

// timeout with signal
const t0 = Date.now();
try { await ring.timeout(10_000, { signal: AbortSignal.timeout(30) }); } catch (e) { console.log('timeout aborted after', Date.now() - t0 >= 25, e.code, e.cause?.name); }

// close with in-flight
const p4 = ring.read(rfd, Buffer.alloc(10));
await new Promise((r) => setTimeout(r, 10));
const p5 = ring.nop(); p5.catch(() => {});
const closing = ring.close();
console.log('closed?', ring.closed);
for (const [n, q] of [['p4', p4], ['p5', p5]]) { try { console.log(n, await q); } catch (e) { console.log(n, e.code, e.message); } }
await closing;
try { await ring.nop(); } catch (e) { console.log('after close:', e.code, e.message); }
console.log('close again:', await ring.close());
console.log(ring.stats());
