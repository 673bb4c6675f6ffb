// The numbers behind extraction, calibration and screening, on plain arrays (no model): running
// means, mean difference, centred PCA with a fixed sign, separation statistics, percentiles.
// Sums are accumulated in float64 so that many samples do not lose precision.

/** Sum of equal-length vectors in float64, and their count: memory O(n_embd) however many are added. */
export class VectorMean {
  readonly sum: Float64Array;
  count = 0;

  constructor(length: number) {
    this.sum = new Float64Array(length);
  }

  add(v: ArrayLike<number>): void {
    for (let i = 0; i < this.sum.length; i++) this.sum[i] += v[i];
    this.count++;
  }

  mean(): Float64Array {
    const out = new Float64Array(this.sum.length);
    if (this.count === 0) return out;
    for (let i = 0; i < out.length; i++) out[i] = this.sum[i] / this.count;
    return out;
  }
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

/** mean(positive) - mean(negative), as float32 (the vector's storage type). */
export function meanDifference(positiveMean: ArrayLike<number>, negativeMean: ArrayLike<number>): Float32Array {
  return Float32Array.from(positiveMean, (x, i) => x - negativeMean[i]);
}

/**
 * First principal component of the rows after subtracting their mean (centred PCA), by power
 * iteration on X^T X applied as X^T (X v), which never forms the n_embd x n_embd matrix. Returns a
 * unit vector, or null when the centred rows are all zero. The sign is not fixed here.
 */
export function principalComponent(rows: readonly ArrayLike<number>[], options: { iterations?: number; tolerance?: number } = {}): Float64Array | null {
  const n = rows.length;
  if (n === 0) return null;
  const d = rows[0].length;
  const centre = new Float64Array(d);
  for (const r of rows) for (let i = 0; i < d; i++) centre[i] += r[i] / n;
  const x = rows.map((r) => Float64Array.from({ length: d }, (_, i) => r[i] - centre[i]));
  // Start from the row of largest norm: never orthogonal to every row, deterministic.
  let start = x[0];
  for (const r of x) if (norm(r) > norm(start)) start = r;
  const s0 = norm(start);
  if (s0 === 0) return null;
  let v = Float64Array.from(start, (a) => a / s0);
  const iterations = options.iterations ?? 2000;
  const tolerance = options.tolerance ?? 1e-12;
  const proj = new Float64Array(n);
  for (let it = 0; it < iterations; it++) {
    for (let k = 0; k < n; k++) proj[k] = dot(x[k], v);
    const w = new Float64Array(d);
    for (let k = 0; k < n; k++) {
      const p = proj[k];
      if (p !== 0) for (let i = 0; i < d; i++) w[i] += p * x[k][i];
    }
    const wn = norm(w);
    if (wn === 0) return null;
    for (let i = 0; i < d; i++) w[i] /= wn;
    // Converged when the direction stops moving (up to sign, which power iteration keeps).
    let change = 0;
    for (let i = 0; i < d; i++) change = Math.max(change, Math.abs(w[i] - v[i]));
    v = w;
    if (change < tolerance) break;
  }
  return v;
}

/**
 * The PCA persona vector of one block: u = the first principal component of every sample's mean
 * (positives and negatives together, centred), signed so that positives project higher, scaled to
 * the mean difference's component along it: v = ((mu+ - mu-) . u) u. Its norm is the projection
 * gap, so coefficients mean the same as for mean-diff. Null when there is no variance.
 */
export function pcaVector(positive: readonly ArrayLike<number>[], negative: readonly ArrayLike<number>[]): Float32Array | null {
  const u = principalComponent([...positive, ...negative]);
  if (!u) return null;
  const d = u.length;
  const mp = new VectorMean(d);
  positive.forEach((r) => mp.add(r));
  const mn = new VectorMean(d);
  negative.forEach((r) => mn.add(r));
  const diff = meanDifference(mp.mean(), mn.mean());
  let gap = dot(diff, u);
  if (gap < 0) {
    for (let i = 0; i < d; i++) u[i] = -u[i];
    gap = -gap;
  }
  return Float32Array.from(u, (a) => a * gap);
}

export interface Separation {
  /** Mean projection of the positive samples. */
  positiveMean: number;
  negativeMean: number;
  /** positiveMean - negativeMean. */
  gap: number;
  /** Pooled standard deviation: sqrt((sum of squared deviations of both groups) / (n+ + n- - 2)). */
  pooledSd: number;
  /** gap / pooledSd (Cohen's d); NaN with fewer than three samples or no spread at all. */
  separation: number;
}

/** Separation of two groups of per-sample projections. */
export function separation(positive: ArrayLike<number>, negative: ArrayLike<number>): Separation {
  const mean = (a: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i];
    return a.length > 0 ? s / a.length : NaN;
  };
  const mp = mean(positive);
  const mn = mean(negative);
  let ss = 0;
  for (let i = 0; i < positive.length; i++) ss += (positive[i] - mp) ** 2;
  for (let i = 0; i < negative.length; i++) ss += (negative[i] - mn) ** 2;
  const dof = positive.length + negative.length - 2;
  const pooledSd = dof > 0 ? Math.sqrt(ss / dof) : NaN;
  const gap = mp - mn;
  return { positiveMean: mp, negativeMean: mn, gap, pooledSd, separation: pooledSd > 0 ? gap / pooledSd : NaN };
}

/** The p-th percentile (0-100) with linear interpolation between order statistics (numpy's default). */
export function percentile(values: ArrayLike<number>, p: number): number {
  const n = values.length;
  if (n === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const h = (n - 1) * (p / 100);
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}
