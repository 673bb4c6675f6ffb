// Seeded PRNG (mulberry32) so that every random test and fuzz case can be replayed from its seed.

export class Prng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
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
