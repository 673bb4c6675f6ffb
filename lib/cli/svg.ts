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

/**
 * Round axis ticks: a step of 1, 2, 2.5 or 5 times a power of ten giving about `n` ticks, and the
 * axis range widened to whole steps, so every tick reads as a round number.
 */
export function niceTicks(lo: number, hi: number, n = 5): { lo: number; hi: number; ticks: number[]; decimals: number } {
  if (!(hi > lo)) { lo -= 1; hi += 1; }
  const raw = (hi - lo) / Math.max(1, n - 1);
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * pow).find((s) => s >= raw * 0.999) ?? 10 * pow;
  const a = Math.floor(lo / step + 1e-9) * step;
  const b = Math.ceil(hi / step - 1e-9) * step;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9) + (step / pow === 2.5 ? 1 : 0));
  const ticks: number[] = [];
  for (let i = 0; a + i * step <= b + step * 1e-9; i++) ticks.push(Number((a + i * step).toFixed(decimals)));
  return { lo: a, hi: b, ticks, decimals };
}

function tickText(x: number, decimals: number): string {
  const a = Math.abs(x);
  if (x !== 0 && (a >= 1e5 || a < 1e-4)) return x.toExponential(1);
  return x.toFixed(decimals);
}

function range(values: number[]): { lo: number; hi: number; ticks: number[]; decimals: number } {
  const finite = values.filter(Number.isFinite);
  const lo = Math.min(0, ...finite);
  const hi = Math.max(0, ...finite);
  return niceTicks(lo, hi);
}

/** The frame of a chart `width` wide whose plot ends `right` pixels before the right edge. */
function frame(title: string, xLabel: string, yLabel: string, axis: { lo: number; hi: number; ticks: number[]; decimals: number }, body: string,
  width = W, right = M.right): string {
  const { lo, hi } = axis;
  const ph = H - M.top - M.bottom;
  const y = (v: number) => M.top + ph * (1 - (v - lo) / (hi - lo));
  const grid = axis.ticks.map((t) => `<line x1="${M.left}" x2="${width - right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#ddd"/>` +
    `<text x="${M.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end" font-size="11">${esc(tickText(t, axis.decimals))}</text>`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H}" viewBox="0 0 ${width} ${H}" font-family="sans-serif">` +
    `<rect width="${width}" height="${H}" fill="white"/>` +
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>${grid}` +
    `<line x1="${M.left}" x2="${width - right}" y1="${y(0).toFixed(1)}" y2="${y(0).toFixed(1)}" stroke="#888"/>` +
    `<text x="${(M.left + width - right) / 2}" y="${H - 10}" text-anchor="middle" font-size="12">${esc(xLabel)}</text>` +
    `<text x="16" y="${M.top + ph / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${M.top + ph / 2})">${esc(yLabel)}</text>` +
    `${body}</svg>\n`;
}

export function barChart(o: { title: string; xLabel: string; yLabel: string; labels: string[]; values: number[]; highlight?: Set<number> }): string {
  const axis = range(o.values);
  const { lo, hi } = axis;
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
  return frame(o.title, o.xLabel, o.yLabel, axis, bars);
}

/** Lines across token positions; the legend sits in its own column right of the plot, never over the data. */
export function lineChart(o: { title: string; xLabel: string; yLabel: string; series: { name: string; values: number[] }[]; xTicks?: string[] }): string {
  const axis = range(o.series.flatMap((s) => s.values));
  const { lo, hi } = axis;
  const n = Math.max(1, ...o.series.map((s) => s.values.length));
  const legendWidth = o.series.length === 0 ? 0 : 24 + 7 * Math.max(...o.series.map((s) => s.name.length));
  const width = W + legendWidth;
  const right = M.right + legendWidth;
  const pw = width - M.left - right;
  const ph = H - M.top - M.bottom;
  const x = (i: number) => M.left + (n === 1 ? pw / 2 : (pw * i) / (n - 1));
  const y = (v: number) => M.top + ph * (1 - (v - lo) / (hi - lo));
  const lines = o.series.map((s, si) => {
    const pts = s.values.map((v, i) => (Number.isFinite(v) ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : null)).filter((p) => p !== null);
    const color = COLORS[si % COLORS.length];
    const ly = M.top + 8 + si * 16;
    return `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts.join(' ')}"/>` +
      `<line x1="${width - right + 12}" x2="${width - right + 24}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>` +
      `<text x="${width - right + 28}" y="${ly}" font-size="11" fill="${color}">${esc(s.name)}</text>`;
  }).join('');
  const step = Math.max(1, Math.ceil(n / 16));
  const ticks = Array.from({ length: n }, (_, i) => i).filter((i) => i % step === 0)
    .map((i) => `<text x="${x(i).toFixed(1)}" y="${H - M.bottom + 16}" text-anchor="middle" font-size="10">${esc(o.xTicks?.[i] ?? String(i))}</text>`).join('');
  return frame(o.title, o.xLabel, o.yLabel, axis, lines + ticks, width, right);
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
