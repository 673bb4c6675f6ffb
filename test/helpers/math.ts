// Plain-number helpers for oracles: written independently of the library's own math.
import { seededRandom } from '../../lib/seeded-random';

/** mulberry32 floats in [0, 1) from a seed. */
export const rng = seededRandom;

export function randomVector(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function unit(v: ArrayLike<number>): number[] {
  const n = Math.sqrt(dot(v, v));
  return Array.from(v, (x) => x / n);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

/** h + sum_k (clamp(h.u_k, lo_k, hi_k) - h.u_k) u_k, all projections from the same h. */
export function clampOracle(h: ArrayLike<number>, clamps: { u: number[]; min?: number; max?: number }[]): number[] {
  const out = Array.from(h);
  for (const c of clamps) {
    const p = dot(h, c.u);
    const q = Math.min(Math.max(p, c.min ?? -Infinity), c.max ?? Infinity);
    for (let i = 0; i < out.length; i++) out[i] += (q - p) * c.u[i];
  }
  return out;
}
