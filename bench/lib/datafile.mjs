// The data file random-read benchmarks read from, and page-cache warming.
import { randomFillSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { dataDir } from './paths.mjs';

export const BLOCK = 4096;
const CHUNK = 8 * 1024 * 1024;
const UNITS = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** Parses "1g", "256m", "64M", "512k" or a plain byte count. */
export function parseSize(text) {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(String(text).trim());
  if (!m) throw new Error(`invalid size: ${text} (use e.g. 1g, 256m, 4096)`);
  const bytes = Math.round(Number(m[1]) * (m[2] ? UNITS[m[2].toLowerCase()] : 1));
  if (bytes < BLOCK || bytes % BLOCK !== 0) {
    throw new Error(`size must be a positive multiple of ${BLOCK} bytes: ${text}`);
  }
  return bytes;
}

/** Short label for file names: 1073741824 -> "1g", 268435456 -> "256m". */
export function sizeLabel(bytes) {
  for (const unit of ['t', 'g', 'm', 'k']) {
    if (bytes % UNITS[unit] === 0) return `${bytes / UNITS[unit]}${unit}`;
  }
  return String(bytes);
}

/** Human-readable size: 1073741824 -> "1 GiB", 268435456 -> "256 MiB". */
export function formatBytes(bytes) {
  const units = ['TiB', 'GiB', 'MiB', 'KiB'];
  for (const [i, unit] of units.entries()) {
    const scale = 2 ** (10 * (units.length - i));
    if (bytes >= scale) return `${+(bytes / scale).toFixed(2)} ${unit}`;
  }
  return `${bytes} B`;
}

/**
 * Returns the path of a data file of exactly `size` bytes, creating it if it
 * is missing or has the wrong size. The file is filled with random bytes
 * rather than left sparse or zeroed, so reads go through real page-cache pages.
 */
export function ensureDataFile(size, log = () => {}) {
  const file = path.join(dataDir, `random-${sizeLabel(size)}.bin`);
  try {
    if (fs.statSync(file).size === size) return file;
  } catch {}

  fs.mkdirSync(dataDir, { recursive: true });
  log(`creating ${file} (${formatBytes(size)} of random data) ...`);
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    const chunk = Buffer.allocUnsafe(CHUNK);
    for (let written = 0; written < size; ) {
      const n = Math.min(CHUNK, size - written);
      randomFillSync(chunk, 0, n);
      written += fs.writeSync(fd, chunk, 0, n, written);
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  return file;
}

/**
 * Reads the whole file once so every variant measures page-cache hits, not the
 * disk. Returns the seconds it took (a second warm-up is near memory speed).
 */
export function warmPageCache(file) {
  const start = performance.now();
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    while (fs.readSync(fd, buf, 0, CHUNK, null) > 0);
  } finally {
    fs.closeSync(fd);
  }
  return (performance.now() - start) / 1000;
}
