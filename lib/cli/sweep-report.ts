// A steering sweep for people and scripts: the table, the JSON and the SVG heat map that
// `persona-steer sweep` and `persona-steer extract` print and draw.
import type { SweepCell, SweepResult, SweepSetting } from '../persona/sweep';
import { heatMap } from './svg';

const pct = (x: number) => `${Math.round(x * 100)}%`;

function coefText(c: number): string {
  return Number(c.toPrecision(4)).toString();
}

function perBlock(xs: readonly number[] | null): string {
  if (!xs || xs.length === 0) return 'n/a';
  const u = [...new Set(xs.map((x) => coefText(x)))];
  return u.length === 1 ? u[0]! : xs.map(coefText).join('/');
}

/** One line per setting: where, how strong (in both units), trait rates, fluency and the score; * marks the pick. */
export function sweepTable(r: SweepResult): string {
  const lines: string[] = [];
  const measure = r.measure.kind === 'judge' ? 'the judge (score >= 50)'
    : `the projection of each answer on the reference answers' trait direction at block ${r.measure.block} (past the midpoint of the two poles' means)`;
  lines.push(`steering sweep: ${r.settings.length} settings x ${r.questions} questions; trait measured by ${measure}`);
  if (r.measure.kind === 'projection') {
    const acc = r.measure.accuracy;
    lines.push(`  that measure puts ${pct(acc)} of the reference answers on their own side, each judged by the others${acc < 0.9 ? ': a weak judge of this trait (rates are rough; a --judge would be sharper)' : ''}`);
  }
  lines.push(`unsteered: trait ${pct(r.baseline.rate)}, perplexity ${r.baseline.perplexity.toFixed(3)}; coherent: perplexity <= ${Math.exp(r.limits.nll).toFixed(3)} ` +
    `(references ${Math.exp(r.reference.nll).toFixed(3)}) and repeated 4-grams <= ${r.limits.repetition.toFixed(2)}`);
  const head = ['positions', 'blocks', `coef (${r.units})`, 'raw', 'relative', r.symmetric ? '+c trait' : 'trait', ...(r.symmetric ? ['-c trait'] : []),
    'perplexity', 'coherent', 'score'];
  const rows: string[][] = r.settings.map((s) => [
    s.positions, s.blocks.join(','), coefText(s.coefficient), perBlock(s.up.raw), perBlock(s.up.relative), pct(s.up.rate),
    ...(s.down ? [pct(s.down.rate)] : []),
    s.down ? `${s.up.perplexity.toFixed(3)}/${s.down.perplexity.toFixed(3)}` : s.up.perplexity.toFixed(3),
    s.coherent ? 'yes' : 'no', `${s.score.toFixed(2)}${s === r.best ? ' *' : ''}`,
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const fmt = (row: string[]) => row.map((c, i) => c.padStart(width[i]!)).join('  ');
  lines.push(fmt(head));
  for (const row of rows) lines.push(fmt(row));
  if (r.recommendation) {
    lines.push(`recommended (*): blocks ${r.recommendation.blocks.join(', ')}, coefficient ${coefText(r.recommendation.coefficient)} (raw), positions ${r.recommendation.positions}`);
  } else if (r.best) {
    lines.push(`best (*): blocks ${r.best.blocks.join(', ')}, relative coefficient ${coefText(r.best.coefficient)}: not one raw coefficient on these blocks, so not recordable`);
  } else {
    lines.push('no recommendation: no coherent setting steered at least the minimum score');
  }
  return lines.join('\n');
}

function cellJson(c: SweepCell, answers: boolean): Record<string, unknown> {
  const { answers: a, ...rest } = c;
  return answers ? { ...rest, answers: a } : rest;
}

/** The sweep as JSON-ready data (answers included when asked). */
export function sweepJson(r: SweepResult, answers: boolean): Record<string, unknown> {
  const setting = (s: SweepSetting) => ({ ...s, up: cellJson(s.up, answers), down: s.down ? cellJson(s.down, answers) : null });
  return {
    units: r.units, symmetric: r.symmetric, questions: r.questions, measure: r.measure, reference: r.reference, limits: r.limits,
    baseline: cellJson(r.baseline, answers), settings: r.settings.map(setting), best: r.best ? r.settings.indexOf(r.best) : null,
    recommendation: r.recommendation,
  };
}

/** Rows: (positions, blocks); columns: coefficients; cells: the score, grey where the answers lost coherence. */
export function sweepHeatMap(r: SweepResult, title: string): string {
  const rowKeys = [...new Set(r.settings.map((s) => `${s.positions} @${s.blocks.join(',')}`))];
  const cols = [...new Set(r.settings.map((s) => s.coefficient))].sort((a, b) => a - b);
  const values = rowKeys.map((k) => cols.map((c) => {
    const s = r.settings.find((x) => `${x.positions} @${x.blocks.join(',')}` === k && x.coefficient === c);
    return s && s.coherent ? s.score : null;
  }));
  const mark = r.best ? { row: rowKeys.indexOf(`${r.best.positions} @${r.best.blocks.join(',')}`), col: cols.indexOf(r.best.coefficient) } : undefined;
  return heatMap({
    title, xLabel: `coefficient (${r.units}${r.symmetric ? ', tried as + and -' : ''})`, yLabel: 'positions @ blocks',
    rowLabels: rowKeys, colLabels: cols.map(coefText), values, mark, nullLabel: 'answers not coherent',
    legend: `cell: score = ${r.symmetric ? 'min(trait rate with +c, 1 - trait rate with -c)' : 'trait rate'}; grey: not coherent; outlined: recommended`,
  });
}
