// Random 4 KiB-aligned file positions for the Node variants.
//
// xorshift32 costs a handful of integer operations, so the generator does not
// show up in the measurements; every Node variant draws positions the same
// way. (The C program uses xorshift64 for the same purpose.)
import { BLOCK } from './datafile.mjs';

export class RandomPositions {
  constructor(fileSize, seed = 0x9e3779b9) {
    this.blocks = Math.floor(fileSize / BLOCK);
    if (this.blocks < 1) throw new Error('file is smaller than one block');
    if (this.blocks > 2 ** 32) throw new Error('file too large for 32-bit block numbers');
    this.state = seed >>> 0 || 1;
  }

  /** Next byte position: a random multiple of 4096 inside the file. */
  next() {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return (this.state % this.blocks) * BLOCK;
  }
}
