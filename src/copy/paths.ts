// Paths as bytes. A file name on Linux is any byte string without '/' or NUL,
// not necessarily UTF-8: a name decoded to a JavaScript string and encoded
// back can come out different (invalid bytes become U+FFFD), and the copy
// would then miss the file or create a wrongly named one. So every path the
// copy job handles is a Buffer from readdir to the last rename; strings are
// made only for messages and for callbacks that ask for them.
import { fileURLToPath } from 'node:url';
import { invalidType, invalidValue } from '../validate';

const SLASH = 0x2f;
const SLASH_BYTES = Buffer.from('/');

/** A path a caller may give: string, Buffer/Uint8Array or file: URL. */
export type PathInput = string | Buffer | Uint8Array | URL;

/** The bytes of a caller's path, checked for NUL like node:fs does. */
export function toPathBytes(value: unknown, name: string): Buffer {
  let bytes: Buffer;
  if (typeof value === 'string') bytes = Buffer.from(value);
  else if (value instanceof URL) bytes = Buffer.from(fileURLToPath(value));
  else if (value instanceof Uint8Array) bytes = Buffer.from(value);
  else throw invalidType(name, 'of type string or an instance of Buffer or URL', value);
  if (bytes.length === 0) throw invalidValue(name, 'must not be empty', '');
  if (bytes.includes(0)) throw invalidValue(name, 'must be a string, Uint8Array, or URL without null bytes', value);
  return bytes;
}

/** `dir + '/' + name`, without doubling a trailing slash. */
export function joinBytes(dir: Buffer, name: Buffer): Buffer {
  if (dir.length > 0 && dir[dir.length - 1] === SLASH) return Buffer.concat([dir, name]);
  const out = Buffer.allocUnsafe(dir.length + 1 + name.length);
  dir.copy(out, 0);
  out[dir.length] = SLASH;
  name.copy(out, dir.length + 1);
  return out;
}

/** The path with trailing slashes removed (but '/' stays '/'). */
export function stripTrailingSlashes(p: Buffer): Buffer {
  let end = p.length;
  while (end > 1 && p[end - 1] === SLASH) end--;
  return end === p.length ? p : p.subarray(0, end);
}

/** The last component (`basename`), as bytes. */
export function baseName(p: Buffer): Buffer {
  const clean = stripTrailingSlashes(p);
  const at = clean.lastIndexOf(SLASH);
  return at < 0 ? clean : clean.subarray(at + 1);
}

/** The directory part (`dirname`), as bytes: '.' for a bare name. */
export function dirName(p: Buffer): Buffer {
  const clean = stripTrailingSlashes(p);
  const at = clean.lastIndexOf(SLASH);
  if (at < 0) return Buffer.from('.');
  if (at === 0) return Buffer.from('/');
  return clean.subarray(0, at);
}

/**
 * An absolute, normalised path ('.' and '..' and repeated slashes resolved
 * lexically against the current directory), as bytes. Name bytes are kept
 * as they are: only ASCII '/' and '.' are interpreted.
 */
export function absoluteBytes(p: Buffer): Buffer {
  const start = p[0] === SLASH ? p : Buffer.concat([Buffer.from(process.cwd()), Buffer.from('/'), p]);
  const parts: Buffer[] = [];
  let i = 0;
  while (i < start.length) {
    let j = start.indexOf(SLASH, i);
    if (j < 0) j = start.length;
    const part = start.subarray(i, j);
    if (part.length === 0 || (part.length === 1 && part[0] === 0x2e)) {
      // empty or '.': nothing
    } else if (part.length === 2 && part[0] === 0x2e && part[1] === 0x2e) {
      parts.pop();
    } else {
      parts.push(part);
    }
    i = j + 1;
  }
  if (parts.length === 0) return Buffer.from('/');
  const out: Buffer[] = [];
  for (const part of parts) out.push(SLASH_BYTES, part);
  return Buffer.concat(out);
}

/** True when `inner` is `outer` itself or lies below it (both absolute and normalised). */
export function isSameOrInside(inner: Buffer, outer: Buffer): boolean {
  if (outer.length === 1 && outer[0] === SLASH) return true;
  if (inner.length < outer.length) return false;
  if (!inner.subarray(0, outer.length).equals(outer)) return false;
  return inner.length === outer.length || inner[outer.length] === SLASH;
}

/** A path for people: the bytes as UTF-8 text (invalid bytes shown as U+FFFD). */
export function display(p: Uint8Array): string {
  return Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString();
}

/** A Buffer over a Uint8Array that lost its Buffer prototype on the way through postMessage. */
export function asBuffer(p: Uint8Array): Buffer {
  return Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}

/** For messages that quote a path the way cp does: 'name'. */
export function quoted(p: Uint8Array): string {
  return `'${display(p)}'`;
}
