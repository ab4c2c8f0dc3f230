// verify: after a file's bytes are written, and before the copy gets its final
// name, both files are read again and their SHA-256 checksums compared. A
// mismatch fails the file (the temporary is removed; nothing is renamed).
//
// What it catches: a source that changed while it was copied, and any bug on
// the copy path. What it cannot catch: corruption below the page cache (both
// reads are usually served from memory); use fsync and re-read after a
// reboot for that.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { SaferRingError } from '../errors';
import { display } from './paths';
import { stopError } from './copy-data';
import type { Control } from './protocol';

export type ReadAt = (fd: number, buffer: Uint8Array, length: number, position: number) => Promise<number>;

export async function checksum(read: ReadAt, fd: number, buffer: Uint8Array, control: Control): Promise<string> {
  const hash = createHash('sha256');
  let position = 0;
  for (;;) {
    if (control.stopped) throw stopError();
    const n = await read(fd, buffer, buffer.length, position);
    if (n === 0) break;
    hash.update(buffer.subarray(0, n));
    position += n;
  }
  return hash.digest('hex');
}

/** checksum() with synchronous reads, for the small-file path. */
export function checksumSync(fd: number, buffer: Buffer, control: Control): string {
  const hash = createHash('sha256');
  let position = 0;
  for (;;) {
    if (control.stopped) throw stopError();
    const n = fs.readSync(fd, buffer, 0, buffer.length, position);
    if (n === 0) break;
    hash.update(buffer.subarray(0, n));
    position += n;
  }
  return hash.digest('hex');
}

export function mismatchError(src: Uint8Array, dst: Uint8Array): Error {
  return new SaferRingError('ERR_COPY_VERIFY_MISMATCH', `verify: the copy of '${display(src)}' differs from its source (SHA-256); '${display(dst)}' was not written`, {
    path: display(src),
    dest: display(dst),
  });
}
