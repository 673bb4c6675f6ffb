// Hand-written SVG charts (no dependency): a bar chart (separation per block), a line chart
// (projections across generated tokens) and a heat map (a steering sweep's scores). Non-finite
// values are left out.
const W = 640;
const H = 360;
const M = { left: 64, right: 16, top: 40, bottom: 48 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1000 || a < 0.01 ? x.toExponential(1) : Number(x.toPrecision(3)).toString();
}

function range(values: number[]): [number, number] {
  const finite = values.filter(Number.isFinite);
  let lo = Math.min(0, ...finite);
  let hi = Math.max(0, ...finite);
  if (finite.length === 0 || lo === hi) { lo -= 1; hi += 1; }
  const pad = (hi - lo) * 0.05;
  return [lo - (lo < 0 ? pad : 0), hi + pad];
}

function frame(title: string, xLabel: string, yLabel: string, lo: number, hi: number, body: string): string {
  const ph = H - M.top - M.bottom;
  const y = (v: number) => M.top + ph * (1 - (v - lo) / (hi - lo));
  const ticks = Array.from({ length: 5 }, (_, i) => lo + ((hi - lo) * i) / 4);
  const grid = ticks.map((t) => `<line x1="${M.left}" x2="${W - M.right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#ddd"/>` +
    `<text x="${M.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end" font-size="11">${esc(fmt(t))}</text>`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">` +
    `<rect width="${W}" height="${H}" fill="white"/>` +
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>${grid}` +
    `<line x1="${M.left}" x2="${W - M.right}" y1="${y(0).toFixed(1)}" y2="${y(0).toFixed(1)}" stroke="#888"/>` +
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 10}" text-anchor="middle" font-size="12">${esc(xLabel)}</text>` +
    `<text x="16" y="${M.top + ph / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${M.top + ph / 2})">${esc(yLabel)}</text>` +
    `${body}</svg>\n`;
}

export function barChart(o: { title: string; xLabel: string; yLabel: string; labels: string[]; values: number[]; highlight?: Set<number> }): string {
  const [lo, hi] = range(o.values);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const y = (v: number) => M.top + ph * (1 - (v - lo) / (hi - lo));
  const slot = pw / Math.max(1, o.values.length);
  const bars = o.values.map((v, i) => {
    const x = M.left + i * slot + slot * 0.15;
    const label = `<text x="${(M.left + (i + 0.5) * slot).toFixed(1)}" y="${H - M.bottom + 16}" text-anchor="middle" font-size="11">${esc(o.labels[i])}</text>`;
    if (!Number.isFinite(v)) return label;
    const top = Math.min(y(v), y(0));
    const fill = o.highlight?.has(i) ? COLORS[1] : COLORS[0];
    return `<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" height="${Math.abs(y(v) - y(0)).toFixed(1)}" fill="${fill}"><title>${esc(`${o.labels[i]}: ${v}`)}</title></rect>${label}`;
  }).join('');
  return frame(o.title, o.xLabel, o.yLabel, lo, hi, bars);
}

export function lineChart(o: { title: string; xLabel: string; yLabel: string; series: { name: string; values: number[] }[]; xTicks?: string[] }): string {
  const [lo, hi] = range(o.series.flatMap((s) => s.values));
  const n = Math.max(1, ...o.series.map((s) => s.values.length));
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (i: number) => M.left + (n === 1 ? pw / 2 : (pw * i) / (n - 1));
  const y = (v: number) => M.top + ph * (1 - (v - lo) / (hi - lo));
  const lines = o.series.map((s, si) => {
    const pts = s.values.map((v, i) => (Number.isFinite(v) ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : null)).filter((p) => p !== null);
    const color = COLORS[si % COLORS.length];
    return `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts.join(' ')}"/>` +
      `<text x="${W - M.right - 4}" y="${M.top + 14 + si * 14}" text-anchor="end" font-size="11" fill="${color}">${esc(s.name)}</text>`;
  }).join('');
  const step = Math.max(1, Math.ceil(n / 16));
  const ticks = Array.from({ length: n }, (_, i) => i).filter((i) => i % step === 0)
    .map((i) => `<text x="${x(i).toFixed(1)}" y="${H - M.bottom + 16}" text-anchor="middle" font-size="10">${esc(o.xTicks?.[i] ?? String(i))}</text>`).join('');
  return frame(o.title, o.xLabel, o.yLabel, lo, hi, lines + ticks);
}

/**
 * A heat map: one row per label in rowLabels, one column per colLabels entry; values in [0, 1]
 * shade from white to the first colour, null cells are grey (not measured or not coherent, as
 * `nullLabel` says), and the marked cell is outlined. Each cell prints its value.
 */
export function heatMap(o: {
  title: string; xLabel: string; yLabel: string; rowLabels: string[]; colLabels: string[];
  values: (number | null)[][]; mark?: { row: number; col: number }; nullLabel?: string; legend?: string;
}): string {
  const rows = Math.max(1, o.rowLabels.length);
  const cols = Math.max(1, o.colLabels.length);
  const left = 120;
  const top = 48;
  const cell = Math.max(18, Math.min(64, Math.floor(520 / cols), Math.floor(420 / rows)));
  const w = Math.max(W, left + cols * cell + 24);
  const h = top + rows * cell + 64;
  const shade = (v: number) => {
    const t = Math.max(0, Math.min(1, v));
    const mix = (a: number) => Math.round(255 + (a - 255) * t);
    return `rgb(${mix(0x1f)},${mix(0x77)},${mix(0xb4)})`;
  };
  let body = '';
  o.values.forEach((row, r) => {
    body += `<text x="${left - 6}" y="${top + r * cell + cell / 2 + 4}" text-anchor="end" font-size="11">${esc(o.rowLabels[r] ?? '')}</text>`;
    row.forEach((v, c) => {
      const x = left + c * cell;
      const y = top + r * cell;
      const fill = v === null || !Number.isFinite(v) ? '#d0d0d0' : shade(v);
      const tip = v === null || !Number.isFinite(v) ? (o.nullLabel ?? 'n/a') : String(Number(v.toFixed(3)));
      body += `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fill}" stroke="white"><title>${esc(`${o.rowLabels[r]}, ${o.colLabels[c]}: ${tip}`)}</title></rect>`;
      if (cell >= 28) {
        const dark = v !== null && Number.isFinite(v) && v > 0.6;
        body += `<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" text-anchor="middle" font-size="10" fill="${dark ? 'white' : 'black'}">${esc(v === null || !Number.isFinite(v) ? '×' : v.toFixed(2))}</text>`;
      }
    });
  });
  o.colLabels.forEach((l, c) => {
    body += `<text x="${left + c * cell + cell / 2}" y="${top + rows * cell + 16}" text-anchor="middle" font-size="11">${esc(l)}</text>`;
  });
  if (o.mark) body += `<rect x="${left + o.mark.col * cell + 1.5}" y="${top + o.mark.row * cell + 1.5}" width="${cell - 3}" height="${cell - 3}" fill="none" stroke="${COLORS[1]}" stroke-width="3"/>`;
  const legend = o.legend ?? '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif">` +
    `<rect width="${w}" height="${h}" fill="white"/>` +
    `<text x="${w / 2}" y="22" text-anchor="middle" font-size="14">${esc(o.title)}</text>` +
    `<text x="${left + (cols * cell) / 2}" y="${top + rows * cell + 34}" text-anchor="middle" font-size="12">${esc(o.xLabel)}</text>` +
    `<text x="14" y="${top + (rows * cell) / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 14 ${top + (rows * cell) / 2})">${esc(o.yLabel)}</text>` +
    `<text x="16" y="${h - 8}" font-size="10" fill="#555">${esc(legend)}</text>` +
    `${body}</svg>\n`;
}
