// Leak warnings: buffers garbage-collected without release().
//
// The memory itself is not lost (the slot goes back once its view is
// collected), but a leak usually means a missing release() in a loop, so in
// development mode each buffer records where it was allocated and the
// reclamations are reported together: one SAFER_RING_LEAK warning per burst
// (everything collected before the next turn of the event loop), with a count
// and the allocation sites, most frequent first. Off by default: capturing a
// stack per allocation costs a few microseconds.
import path from 'node:path';

/** Where a buffer was allocated: the caller's stack, or undefined when leak warnings were off. */
export type AllocationSite = string | undefined;

let enabled = process.env.SAFER_RING_DEBUG === '1';

/** Turns leak warnings (and allocation-site recording) on or off; on in development mode (SAFER_RING_DEBUG=1). */
export function setLeakWarnings(on: boolean): void {
  enabled = on;
}

export function leakWarningsEnabled(): boolean {
  return enabled;
}

// Frames in this package's compiled files (dist/) say nothing about the
// caller's leak; neither do Node's internals.
const OWN_DIST = `${path.resolve(__dirname, '..', '..')}${path.sep}`;
const isOwnFrame = (line: string): boolean => line.includes(OWN_DIST) || /\bnode:internal\//.test(line);

/** Records the caller's stack when leak warnings are on (nothing otherwise). */
export function allocationSite(): AllocationSite {
  if (!enabled) return undefined;
  const site: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 8; // past this package's own frames (3 or 4) to two of the caller's
  Error.captureStackTrace(site, allocationSite);
  Error.stackTraceLimit = limit;
  // Format now: an unformatted capture keeps each frame's receiver alive (the
  // new OwnedBuffer among them), and so the very buffer it should report on.
  return site.stack;
}

/** The first frames of `site` outside this package, as one short string. */
function describe(site: AllocationSite): string {
  if (site === undefined) return 'allocated before leak warnings were on (set SAFER_RING_DEBUG=1 at start-up to record it)';
  const frames = site.split('\n').slice(1).filter((line) => !isOwnFrame(line));
  return frames.length === 0 ? 'inside safer-ring' : frames.slice(0, 2).map((f) => f.trim()).join(' <- ');
}

interface Burst {
  count: number;
  bytes: number;
  sites: Map<string, number>;
}

let burst: Burst | null = null;

/** Most sites listed in one warning; the rest are summed up in one line. */
const MAX_SITES = 5;

function flush(): void {
  const b = burst!;
  burst = null;
  const ranked = [...b.sites].sort((x, y) => y[1] - x[1]);
  const lines = ranked.slice(0, MAX_SITES).map(([where, n]) => `  ${n} x ${where}`);
  if (ranked.length > MAX_SITES) {
    const rest = ranked.slice(MAX_SITES).reduce((sum, [, n]) => sum + n, 0);
    lines.push(`  ${rest} x from ${ranked.length - MAX_SITES} other site(s)`);
  }
  const what = b.count === 1 ? `1 buffer (${b.bytes} bytes of arena memory) was` : `${b.count} buffers (${b.bytes} bytes of arena memory) were`;
  process.emitWarning(`${what} garbage-collected without release(); allocated at:\n${lines.join('\n')}`, {
    code: 'SAFER_RING_LEAK',
  });
}

/** Counts one reclaimed buffer into the current burst's warning. */
export function reportLeak(capacity: number, site: AllocationSite): void {
  if (!enabled) return;
  if (burst === null) {
    burst = { count: 0, bytes: 0, sites: new Map() };
    // Finalizers run in their own tasks; an immediate runs after the whole
    // batch the collector queued, so one burst gives one warning.
    setImmediate(flush);
  }
  burst.count++;
  burst.bytes += capacity;
  const where = describe(site);
  burst.sites.set(where, (burst.sites.get(where) ?? 0) + 1);
}
