// Progress figures: what is done, how fast, and how long the rest will take.
// The rate is taken over a sliding window of recent samples (not since the
// start), so it follows a job whose speed changes, e.g. from many small files
// to one large one.
import type { CopyProgress } from './options';

interface Sample {
  at: number;
  bytes: number;
  files: number;
}

const WINDOW_MS = 3000;

export class RateMeter {
  readonly #samples: Sample[] = [];
  readonly #start: number;

  constructor(start = performance.now()) {
    this.#start = start;
    this.#samples.push({ at: start, bytes: 0, files: 0 });
  }

  /** Adds a sample and returns the rates (per second) over the window. */
  sample(bytes: number, files: number, now = performance.now()): { bytesPerSecond: number; filesPerSecond: number } {
    this.#samples.push({ at: now, bytes, files });
    while (this.#samples.length > 2 && now - this.#samples[1].at > WINDOW_MS) this.#samples.shift();
    const first = this.#samples[0];
    const seconds = (now - first.at) / 1000;
    if (seconds <= 0) return { bytesPerSecond: 0, filesPerSecond: 0 };
    return { bytesPerSecond: (bytes - first.bytes) / seconds, filesPerSecond: (files - first.files) / seconds };
  }

  get elapsedMs(): number {
    return performance.now() - this.#start;
  }
}

export interface Counts {
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
  filesSkipped: number;
  filesFailed: number;
  planned: boolean;
}

export function progressOf(counts: Counts, meter: RateMeter): CopyProgress {
  const { bytesPerSecond, filesPerSecond } = meter.sample(counts.bytesDone, counts.filesDone);
  let etaSeconds: number | null = null;
  if (counts.planned) {
    const byBytes = bytesPerSecond > 0 ? (counts.bytesTotal - counts.bytesDone) / bytesPerSecond : null;
    const byFiles = filesPerSecond > 0 ? (counts.filesTotal - counts.filesDone) / filesPerSecond : null;
    // Whichever is slower to finish: bytes for large files, names for many small ones.
    if (byBytes !== null || byFiles !== null) etaSeconds = Math.max(byBytes ?? 0, byFiles ?? 0);
  }
  return { ...counts, elapsedMs: meter.elapsedMs, bytesPerSecond, filesPerSecond, etaSeconds };
}

// ---- formatting, shared by the CLI and npm start ----

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** Bytes in SI units (1 MB = 10^6 bytes), as cp/rsync-style tools print them. */
export function formatBytes(n: number): string {
  let i = 0;
  while (n >= 1000 && i < UNITS.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? n.toFixed(0) : n.toFixed(n >= 100 ? 0 : 1)} ${UNITS[i]}`;
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (x: number): string => String(x).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

/** One line for logs and non-TTY output. */
export function progressLine(p: CopyProgress): string {
  const pct = p.bytesTotal > 0 ? (100 * p.bytesDone) / p.bytesTotal : p.filesTotal > 0 ? (100 * p.filesDone) / p.filesTotal : 100;
  const parts = [
    `${pct.toFixed(0).padStart(3)}%`,
    `${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}${p.planned ? '' : '+'}`,
    `${p.filesDone}/${p.filesTotal}${p.planned ? '' : '+'} files`,
    `${formatBytes(p.bytesPerSecond)}/s`,
    `${Math.round(p.filesPerSecond)} files/s`,
    `ETA ${formatDuration(p.etaSeconds)}`,
  ];
  if (p.filesFailed > 0) parts.push(`${p.filesFailed} failed`);
  return parts.join(', ');
}
