// A raw `struct statx` as node:fs reports it: an fs.Stats (numbers) or a
// BigIntStats, built with Node's own classes so instanceof, the is*()
// methods and the Date fields are exactly Node's. The field conversions are
// libuv's (uv__fs_statx): dev and rdev through glibc's makedev, times in
// milliseconds as doubles, or in nanoseconds as bigints.
import fs from 'node:fs';
import { promises as nodeFsp } from 'node:fs';

type StatsCtor = new (...fields: unknown[]) => fs.Stats;
type BigIntStatsCtor = new (...fields: unknown[]) => fs.BigIntStats;

const Stats = fs.Stats as unknown as StatsCtor;
// Node does not export its BigIntStats class: it is taken from one of its own
// results, once, the first time a caller asks for bigint stats.
let BigIntStats: BigIntStatsCtor | undefined;

export async function bigIntStatsClass(): Promise<BigIntStatsCtor> {
  BigIntStats ??= (await nodeFsp.lstat('/', { bigint: true })).constructor as BigIntStatsCtor;
  return BigIntStats;
}

/** `struct statx` offsets (linux/stat.h). */
const BLKSIZE = 4, NLINK = 16, UID = 20, GID = 24, MODE = 28, INO = 32, SIZE = 40, BLOCKS = 48;
const ATIME = 64, BTIME = 80, CTIME = 96, MTIME = 112, RDEV_MAJOR = 128, RDEV_MINOR = 132, DEV_MAJOR = 136, DEV_MINOR = 140;

function u64(v: DataView, at: number): number {
  return v.getUint32(at, true) + v.getUint32(at + 4, true) * 2 ** 32;
}

function ms(v: DataView, at: number): number {
  return (v.getUint32(at, true) + v.getInt32(at + 4, true) * 2 ** 32) * 1000 + v.getUint32(at + 8, true) / 1e6;
}

function ns(v: DataView, at: number): bigint {
  return v.getBigInt64(at, true) * 1_000_000_000n + BigInt(v.getUint32(at + 8, true));
}

function makedev(major: number, minor: number): number {
  return (major & 0xfff) * 256 + (minor & 0xff) + (minor >>> 8) * 2 ** 20 + (major >>> 12) * 2 ** 32;
}

function makedevBig(major: number, minor: number): bigint {
  const M = BigInt(major), m = BigInt(minor);
  return ((M & 0xfffn) << 8n) | ((M & 0xfffff000n) << 32n) | (m & 0xffn) | ((m & 0xffffff00n) << 12n);
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, 256);
}

/** File type and size only: what readFile needs to plan its reads. */
export function typeAndSize(bytes: Uint8Array): { mode: number; size: number } {
  const v = view(bytes);
  return { mode: v.getUint16(MODE, true), size: u64(v, SIZE) };
}

export function statsFromStatx(bytes: Uint8Array): fs.Stats {
  const v = view(bytes);
  return new Stats(
    makedev(v.getUint32(DEV_MAJOR, true), v.getUint32(DEV_MINOR, true)),
    v.getUint16(MODE, true),
    v.getUint32(NLINK, true),
    v.getUint32(UID, true),
    v.getUint32(GID, true),
    makedev(v.getUint32(RDEV_MAJOR, true), v.getUint32(RDEV_MINOR, true)),
    v.getUint32(BLKSIZE, true),
    u64(v, INO),
    u64(v, SIZE),
    u64(v, BLOCKS),
    ms(v, ATIME),
    ms(v, MTIME),
    ms(v, CTIME),
    ms(v, BTIME),
  );
}

/** Needs bigIntStatsClass() to have resolved once. */
export function bigIntStatsFromStatx(bytes: Uint8Array): fs.BigIntStats {
  const v = view(bytes);
  return new BigIntStats!(
    makedevBig(v.getUint32(DEV_MAJOR, true), v.getUint32(DEV_MINOR, true)),
    BigInt(v.getUint16(MODE, true)),
    BigInt(v.getUint32(NLINK, true)),
    BigInt(v.getUint32(UID, true)),
    BigInt(v.getUint32(GID, true)),
    makedevBig(v.getUint32(RDEV_MAJOR, true), v.getUint32(RDEV_MINOR, true)),
    BigInt(v.getUint32(BLKSIZE, true)),
    v.getBigUint64(INO, true),
    v.getBigUint64(SIZE, true),
    v.getBigUint64(BLOCKS, true),
    ns(v, ATIME),
    ns(v, MTIME),
    ns(v, CTIME),
    ns(v, BTIME),
  );
}
