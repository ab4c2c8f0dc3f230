// struct statx -> a node:fs.Stats-shaped object.
import { constants } from 'node:fs';

export const STATX_BASIC_STATS = 0x7ff;
export const STATX_BTIME = 0x800;
export const STATX_SIZE_BYTES = 256;
export const AT_EMPTY_PATH = 0x1000;
export const AT_SYMLINK_NOFOLLOW = 0x100;

/** The fields of node:fs.Stats, from one statx call. */
export class StatxStats {
  dev = 0;
  ino = 0;
  mode = 0;
  nlink = 0;
  uid = 0;
  gid = 0;
  rdev = 0;
  size = 0;
  blksize = 0;
  blocks = 0;
  atimeMs = 0;
  mtimeMs = 0;
  ctimeMs = 0;
  birthtimeMs = 0;

  get atime(): Date { return new Date(this.atimeMs); }
  get mtime(): Date { return new Date(this.mtimeMs); }
  get ctime(): Date { return new Date(this.ctimeMs); }
  get birthtime(): Date { return new Date(this.birthtimeMs); }

  isFile(): boolean { return this.#type() === constants.S_IFREG; }
  isDirectory(): boolean { return this.#type() === constants.S_IFDIR; }
  isSymbolicLink(): boolean { return this.#type() === constants.S_IFLNK; }
  isFIFO(): boolean { return this.#type() === constants.S_IFIFO; }
  isSocket(): boolean { return this.#type() === constants.S_IFSOCK; }
  isCharacterDevice(): boolean { return this.#type() === constants.S_IFCHR; }
  isBlockDevice(): boolean { return this.#type() === constants.S_IFBLK; }

  #type(): number {
    return this.mode & constants.S_IFMT;
  }
}

function u64(view: DataView, at: number): number {
  return Number(view.getBigUint64(at, true));
}

function timeMs(view: DataView, at: number): number {
  return Number(view.getBigInt64(at, true)) * 1000 + view.getUint32(at + 8, true) / 1e6;
}

// glibc's makedev(), as node:fs reports dev/rdev.
function makedev(major: number, minor: number): number {
  return (major & 0xfff) * 256 + (minor & 0xff) + (minor >>> 8) * 2 ** 20 + (major >>> 12) * 2 ** 32;
}

export function parseStatx(bytes: Uint8Array): StatxStats {
  const v = new DataView(bytes.buffer, bytes.byteOffset, STATX_SIZE_BYTES);
  const s = new StatxStats();
  s.blksize = v.getUint32(4, true);
  s.nlink = v.getUint32(16, true);
  s.uid = v.getUint32(20, true);
  s.gid = v.getUint32(24, true);
  s.mode = v.getUint16(28, true);
  s.ino = u64(v, 32);
  s.size = u64(v, 40);
  s.blocks = u64(v, 48);
  s.atimeMs = timeMs(v, 64);
  s.birthtimeMs = timeMs(v, 80);
  s.ctimeMs = timeMs(v, 96);
  s.mtimeMs = timeMs(v, 112);
  s.rdev = makedev(v.getUint32(128, true), v.getUint32(132, true));
  s.dev = makedev(v.getUint32(136, true), v.getUint32(140, true));
  return s;
}
