import { Ring, OwnedBuffer } from 'safer-ring';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ring = new Ring(64);
const path = join(tmpdir(), 'safer-ring-demo.txt');

// Write: the buffer moves into the operation and comes back in the result.
let fd = await ring.openat(path, 'w');
let buf = OwnedBuffer.from(Buffer.from('hello, io_uring\n'));
const w = await ring.writeOwned(fd, buf, { position: 0 });
buf = w.buffer;                       // the old handle is dead; use this one
console.log('wrote', w.bytesWritten, 'bytes');
await ring.close(fd);

// Read it back into the same owned buffer.
fd = await ring.openat(path, 'r');
const r = await ring.readOwned(fd, buf, { position: 0 });
buf = r.buffer;
console.log('readOwned:', Buffer.from(buf.bytes.subarray(0, r.bytesRead)).toString());

// Or read into ordinary memory (copied through the arena).
const plain = Buffer.alloc(5);
const { bytesRead } = await ring.read(fd, plain, { position: 7 });
console.log('read:', plain.toString('utf8', 0, bytesRead));

const st = await ring.statx(path);
console.log('size', st.size, 'isFile', st.isFile());

await ring.close(fd);
buf.release();
await ring.close();                   // no argument: closes the ring itself
