// Loads the built safer-ring library for the benchmarks.

/**
 * Imports safer-ring and picks the named classes; returns { lib, backend } or
 * { error } with a short reason. One ring of `entries` is opened up front: a
 * ring that cannot be created skips the variants with the reason, and the
 * backend in use (io_uring or the node:fs fallback) is reported, since
 * fallback numbers say nothing about io_uring.
 */
export async function loadSaferRing(names, entries) {
  let mod;
  try {
    mod = await import('safer-ring');
  } catch (err) {
    const notBuilt = err && (err.code === 'ERR_MODULE_NOT_FOUND' || err.code === 'MODULE_NOT_FOUND');
    const reason = String(err && err.message).split('\n')[0];
    return { error: notBuilt ? `library not built? run \`npm run build\` (${reason})` : `import failed: ${reason}` };
  }
  // Named exports of a CommonJS module are detected statically; fall back to
  // the default export (module.exports) in case detection missed them.
  const pick = (name) => mod[name] ?? mod.default?.[name];
  const lib = Object.fromEntries(names.map((name) => [name, pick(name)]));
  for (const [name, value] of Object.entries(lib)) {
    if (typeof value !== 'function') return { error: `safer-ring does not export ${name}` };
  }
  let backend;
  try {
    const ring = new lib.Ring(entries);
    backend = ring.backend ?? pick('backend');
    await ring.close();
  } catch (err) {
    return { error: `new Ring(${entries}) failed: ${err.message}` };
  }
  const env = process.env.SAFER_RING_BACKEND ? ` (SAFER_RING_BACKEND=${process.env.SAFER_RING_BACKEND})` : '';
  return { lib, backend: `${backend ?? 'not reported by the library'}${env}` };
}
