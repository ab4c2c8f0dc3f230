import { Ring, OwnedBuffer, SaferRingError } from 'safer-ring';
const ring = new Ring();
const show = (e) => console.log({ name: e.name, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, message: e.message, isErr: e instanceof Error });
try { await ring.openat('/nonexistent/x'); } catch (e) { show(e); }
try { await ring.statx('/nonexistent/y'); } catch (e) { show(e); }
try { await ring.read(12345, Buffer.alloc(4)); } catch (e) { show(e); }
try { await ring.close(12345); } catch (e) { show(e); }
try { await ring.read('x', Buffer.alloc(4)); } catch (e) { show(e); }
try { await ring.read(0, Buffer.alloc(4), { length: 9 }); } catch (e) { show(e); }
try { await ring.read(0, Buffer.alloc(4), { position: 1.5 }); } catch (e) { show(e); }
try { await ring.openat('/tmp/x', 'zz'); } catch (e) { show(e); }
try { await ring.openat('/tmp/x\0y'); } catch (e) { show(e); }
try { await ring.readOwned(0, Buffer.alloc(4)); } catch (e) { show(e); }
try { new OwnedBuffer(2 ** 30 + 1); } catch (e) { show(e); }
try { new Ring(0); } catch (e) { show(e); }
try { await ring.timeout(-1); } catch (e) { show(e); }
try { await ring.nop({ signal: 5 }); } catch (e) { show(e); }
try { await ring.connect(0, { host: 'localhost', port: 80 }); } catch (e) { show(e); }
try { await ring.close(undefined); } catch (e) { show(e); }
// Does a validation error throw synchronously or reject?
const p = ring.read('x', Buffer.alloc(1)); console.log('returns promise:', p instanceof Promise); p.catch(() => {});
await ring.close();
