// Dense symmetric eigen-decomposition by cyclic Jacobi rotations: an oracle for PCA written
// independently of the library's power iteration.
export function covariance(rows: ArrayLike<number>[]): number[][] {
  const n = rows.length;
  const d = rows[0].length;
  const mean = Array.from({ length: d }, (_, i) => Array.from(rows).reduce((s, r) => s + r[i], 0) / n);
  const c = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (const r of rows) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) c[i][j] += (r[i] - mean[i]) * (r[j] - mean[j]);
  return c;
}

/** The largest eigenvalue, its eigenvector, and the gap to the next eigenvalue. */
export function topEigenvector(a0: number[][]): { value: number; vector: number[]; gap: number } {
  const d = a0.length;
  const a = a0.map((r) => [...r]);
  const v: number[][] = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += a[p][q] ** 2;
    if (off < 1e-24) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        if (Math.abs(a[p][q]) < 1e-300) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) { const x = a[k][p]; const y = a[k][q]; a[k][p] = c * x - s * y; a[k][q] = s * x + c * y; }
        for (let k = 0; k < d; k++) { const x = a[p][k]; const y = a[q][k]; a[p][k] = c * x - s * y; a[q][k] = s * x + c * y; }
        for (let k = 0; k < d; k++) { const x = v[k][p]; const y = v[k][q]; v[k][p] = c * x - s * y; v[k][q] = s * x + c * y; }
      }
    }
  }
  const order = Array.from({ length: d }, (_, i) => i).sort((x, y) => a[y][y] - a[x][x]);
  const top = order[0];
  return { value: a[top][top], vector: v.map((row) => row[top]), gap: d > 1 ? a[top][top] - a[order[1]][order[1]] : Infinity };
}
