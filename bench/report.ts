// Turning results into the printed tables, the JSON document and the SVG chart.
import type { Summary } from './stats';
import { overheadPercent } from './stats';
import type { TableResult } from './types';

export interface PairResult {
  id: string;
  title: string;
  model: string;
  modelLabel: string;
  metric: string;
  target?: number;
  param?: { name: string; value: number };
  baselineLabel: string;
  candidateLabel: string;
  baseline: Summary;
  candidate: Summary;
  ratio: number;
  pairedRatio: number;
  /** The same from process CPU time, when both sides report it. */
  cpu?: { baseline: Summary; candidate: Summary; ratio: number; pairedRatio: number };
  rounds: number;
  repsPerSample: number;
  notes: string[];
  seconds: number;
}

export interface SkipResult {
  id: string;
  model: string;
  reason: string;
}

const fmt = (x: number) => (x >= 1000 ? x.toFixed(0) : x >= 100 ? x.toFixed(1) : x.toFixed(2));
const spread = (s: Summary) => `${fmt(s.median)} (${fmt(s.min)}-${fmt(s.max)})`;

function mdTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export function verdict(r: PairResult): string {
  if (r.target === undefined) return '';
  return r.ratio >= r.target ? 'met' : 'MISSED';
}

export function targetsTable(results: PairResult[]): string {
  const rows = results.filter((r) => r.param === undefined).map((r) => [
    r.id, r.model, r.metric, `${r.baselineLabel}: ${spread(r.baseline)}`, `${r.candidateLabel}: ${spread(r.candidate)}`,
    r.ratio.toFixed(3), r.pairedRatio.toFixed(3), r.cpu ? r.cpu.ratio.toFixed(3) : '-', r.target === undefined ? '-' : `>= ${r.target.toFixed(2)}`, verdict(r),
  ]);
  return mdTable(['case', 'model', 'metric', 'baseline median (min-max)', 'case median (min-max)', 'ratio', 'paired', 'cpu', 'target', ''], rows);
}

export function scalingTables(results: PairResult[]): string {
  const out: string[] = [];
  const ids = [...new Set(results.filter((r) => r.param !== undefined).map((r) => r.id))];
  for (const id of ids) {
    const rs = results.filter((r) => r.id === id);
    out.push(`${rs[0].title}`);
    out.push(mdTable(['model', rs[0].param!.name, 'plain tok/s', 'case tok/s', 'ratio', 'paired', 'cpu', 'overhead %', 'cpu overhead %'], rs.map((r) => [
      r.model, String(r.param!.value), spread(r.baseline), spread(r.candidate), r.ratio.toFixed(3), r.pairedRatio.toFixed(3),
      r.cpu ? r.cpu.ratio.toFixed(3) : '-', overheadPercent(r.ratio).toFixed(1), r.cpu ? overheadPercent(r.cpu.ratio).toFixed(1) : '-',
    ])));
    out.push('');
  }
  return out.join('\n');
}

export function tableText(t: TableResult): string {
  return `${t.title}: ${t.model}\n${mdTable(t.columns, t.rows.map((r) => r.map(String)))}${t.notes?.length ? `\n(${t.notes.join('; ')})` : ''}`;
}

/** Hand-made SVG: overhead % against directions, one line per model (log2 x axis). */
export function directionsSvg(results: PairResult[], caption: string): string {
  const rs = results.filter((r) => r.id === 'scaling-directions' && r.param);
  const models = [...new Set(rs.map((r) => r.model))];
  const W = 640;
  const H = 360;
  const L = 70;
  const R = 170;
  const T = 40;
  const B = 60;
  const xs = [...new Set(rs.map((r) => r.param!.value))].sort((a, b) => a - b);
  const ys = rs.flatMap((r) => [overheadPercent(r.ratio), ...(r.cpu ? [overheadPercent(r.cpu.ratio)] : [])]);
  const span = Math.max(...ys, 5) - Math.min(...ys, 0);
  const step = span > 40 ? 10 : span > 12 ? 5 : 2;
  const yMax = Math.ceil(Math.max(...ys, step) / step) * step;
  const yMin = Math.floor(Math.min(...ys, 0) / step) * step;
  const lx = (x: number) => L + (xs.length <= 1 ? 0 : (Math.log2(x) - Math.log2(xs[0])) / (Math.log2(xs[xs.length - 1]) - Math.log2(xs[0]))) * (W - L - R);
  const ly = (y: number) => T + ((yMax - y) / (yMax - yMin)) * (H - T - B);
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">Decode overhead vs clamp directions (every block)</text>`);
  for (let y = yMin; y <= yMax; y += step) {
    parts.push(`<line x1="${L}" y1="${ly(y)}" x2="${W - R}" y2="${ly(y)}" stroke="#ddd"/>`);
    parts.push(`<text x="${L - 6}" y="${ly(y) + 4}" text-anchor="end">${y}%</text>`);
  }
  for (const x of xs) {
    parts.push(`<line x1="${lx(x)}" y1="${T}" x2="${lx(x)}" y2="${H - B}" stroke="#eee"/>`);
    parts.push(`<text x="${lx(x)}" y="${H - B + 16}" text-anchor="middle">${x}</text>`);
  }
  parts.push(`<line x1="${L}" y1="${ly(0)}" x2="${W - R}" y2="${ly(0)}" stroke="#888"/>`);
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - B + 34}" text-anchor="middle">clamp directions per block</text>`);
  parts.push(`<text x="18" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(T + H - B) / 2})">time per token, % over unsteered</text>`);
  models.forEach((m, i) => {
    const pts = rs.filter((r) => r.model === m).sort((a, b) => a.param!.value - b.param!.value);
    const c = colors[i % colors.length];
    parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map((p) => `${lx(p.param!.value).toFixed(1)},${ly(overheadPercent(p.ratio)).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) {
      const o = overheadPercent(p.ratio);
      parts.push(`<circle cx="${lx(p.param!.value).toFixed(1)}" cy="${ly(o).toFixed(1)}" r="3.5" fill="${c}"><title>${esc(m)}: ${p.param!.value} directions, ${o.toFixed(1)}% (ratio ${p.ratio.toFixed(3)})</title></circle>`);
    }
    if (pts.every((p) => p.cpu)) {
      parts.push(`<polyline fill="none" stroke="${c}" stroke-width="1.5" stroke-dasharray="5,4" points="${pts.map((p) => `${lx(p.param!.value).toFixed(1)},${ly(overheadPercent(p.cpu!.ratio)).toFixed(1)}`).join(' ')}"/>`);
      for (const p of pts) {
        const o = overheadPercent(p.cpu!.ratio);
        parts.push(`<rect x="${(lx(p.param!.value) - 3).toFixed(1)}" y="${(ly(o) - 3).toFixed(1)}" width="6" height="6" fill="white" stroke="${c}"><title>${esc(m)}: ${p.param!.value} directions, CPU time ${o.toFixed(1)}% (ratio ${p.cpu!.ratio.toFixed(3)})</title></rect>`);
      }
    }
    parts.push(`<line x1="${W - R + 14}" y1="${T + 10 + i * 36}" x2="${W - R + 34}" y2="${T + 10 + i * 36}" stroke="${c}" stroke-width="2"/>`);
    parts.push(`<text x="${W - R + 40}" y="${T + 14 + i * 36}">${esc(m)} wall</text>`);
    parts.push(`<line x1="${W - R + 14}" y1="${T + 26 + i * 36}" x2="${W - R + 34}" y2="${T + 26 + i * 36}" stroke="${c}" stroke-width="1.5" stroke-dasharray="5,4"/>`);
    parts.push(`<text x="${W - R + 40}" y="${T + 30 + i * 36}">${esc(m)} CPU</text>`);
  });
  parts.push(`<text x="${W / 2}" y="${H - 8}" text-anchor="middle" font-size="10" fill="#555">${esc(caption)}</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
