// A small seeded generator (mulberry32) for the native boundary fuzzer: the
// same seed gives the same sequence of calls, so a failure names the seed
// that reproduces it. (The API sequence fuzzer uses fast-check instead, which
// also shrinks a failing sequence; the native fuzzer needs raw speed and
// adversarial words more than shrinking.)

export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const r = {
    next,
    /** An integer in [lo, hi]. */
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    /** True with probability p. */
    chance: (p) => next() < p,
    pick: (list) => list[Math.floor(next() * list.length)],
    /** Any 32-bit signed word. */
    word: () => (next() * 4294967296) | 0,
  };
  return r;
}

/** Words that break range and sign checks: the edges of int32, zero, one, minus one. */
export const EDGE_WORDS = [0, 1, -1, 2, -2, 63, 64, 65, 4095, 4096, 4097, 0x7fffffff, -0x80000000, 0x7ffffffe, 0x40000000, 65535, 65536, 1 << 20];

/** Float64 values for positions and lengths: non-integers, non-finite, just past 2^53, negative zero. */
export const EDGE_DOUBLES = [
  -1, -2, 0, -0, 0.5, 1.5, -1.5, NaN, Infinity, -Infinity, 2 ** 53, 2 ** 53 + 2, 2 ** 53 - 1, 2 ** 63, -(2 ** 53), 1e300, Number.MIN_VALUE,
];
