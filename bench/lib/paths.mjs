// Locations shared by the benchmark scripts. Everything a benchmark writes
// lives under git-ignored directories of the repository root.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const benchDir = path.join(repoRoot, 'bench');
/** Compiled C reference programs (build/ is git-ignored). */
export const buildDir = path.join(repoRoot, 'build', 'bench');
/** Data files for I/O benchmarks (.bench-data/ is git-ignored). */
export const dataDir = path.join(repoRoot, '.bench-data');
