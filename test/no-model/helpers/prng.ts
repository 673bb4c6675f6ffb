// Seeded PRNG (mulberry32) so that every random test and fuzz case can be replayed from its seed.

import { seededRandom } from '../../../lib/seeded-random';

export class Prng {
  private readonly random: () => number;

  constructor(seed: number) {
    this.random = seededRandom(seed);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.random();
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)]!;
  }

  bool(p = 0.5): boolean {
    return this.next() < p;
  }

  /** A float32-representable number spread over many magnitudes, sign included. */
  f32(): number {
    const mag = Math.pow(2, this.int(-20, 20)) * this.next();
    return Math.fround(this.bool() ? mag : -mag);
  }
}
