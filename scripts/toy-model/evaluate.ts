// Evaluation of the toy model on the held-out questions, in two steps around llama.cpp:
//   node dist/toy-model/evaluate.js prompts --out prompts.tsv
//   check_model MODEL --prompts prompts.tsv --out greedy.tsv            (scripts/toy-model)
//   node dist/toy-model/evaluate.js score --prompts prompts.tsv --generations greedy.tsv [--json F]
// The prompt file lists every condition (neutral, each pole alone, each pair and triple of
// poles) with every held-out question; scoring uses scoreAnswer with the question.

import { readFileSync, writeFileSync } from 'node:fs';
import { evalQuestions, questionPoles } from '../../dist/toy/questions';
import { scoreAnswer, isWellFormed } from '../../dist/toy/scorer';
import { TRAIT_NAMES, TRAIT_POLES, systemPromptFor, type TraitName, type TraitPoles } from '../../dist/toy/traits';
import { invalidArg } from '../../dist/errors';

export interface EvalPrompt {
  id: string;
  condition: string;
  explicit: Partial<TraitPoles>;
  system: string;
  question: string;
  /** The poles the corpus gives this question for the traits the prompt leaves free. */
  questionPoles: TraitPoles;
}

/** Every subset of traits, each with every combination of poles; the empty subset is "neutral". */
export function evalConditions(): Partial<TraitPoles>[] {
  let out: Partial<TraitPoles>[] = [{}];
  for (const t of TRAIT_NAMES) {
    out = out.flatMap((c) => [c, ...TRAIT_POLES[t].map((p) => ({ ...c, [t]: p }))]);
  }
  return out;
}

export function conditionName(explicit: Partial<TraitPoles>): string {
  const parts = TRAIT_NAMES.flatMap((t) => (explicit[t] ? [explicit[t] as string] : []));
  return parts.length ? parts.join('+') : 'neutral';
}

export function evalPrompts(): EvalPrompt[] {
  const qs = evalQuestions();
  return evalConditions().flatMap((explicit) => qs.map((q, i) => ({
    id: `${conditionName(explicit)}#${i}`,
    condition: conditionName(explicit),
    explicit,
    system: systemPromptFor(explicit),
    question: q.question,
    questionPoles: questionPoles(q.template, q.claim),
  })));
}

export interface TraitRate {
  /** Answers scored. */
  n: number;
  /** Answers with the pole, by pole; the rest were unclassifiable (null). */
  counts: Record<string, number>;
  nulls: number;
  /** Answers whose pole is the one the corpus ties to the question (questionPoles). */
  followsQuestion: number;
}

export interface EvalReport {
  answers: number;
  wellFormed: number;
  /** Per trait: answers under prompts that named a pole of it, and how many expressed that pole. */
  explicit: Record<TraitName, { n: number; hit: number; worstCondition: string; worstRate: number }>;
  /** Per trait: pole counts under the neutral prompt. */
  neutral: Record<TraitName, TraitRate>;
  /** Per trait: pole counts under prompts that named only other traits. */
  free: Record<TraitName, TraitRate>;
}

function unescape(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

export function scoreGenerations(prompts: readonly EvalPrompt[], generations: readonly { id: string; answer: string }[]): EvalReport {
  const byId = new Map(prompts.map((p) => [p.id, p]));
  const emptyRate = (): TraitRate => ({ n: 0, counts: {}, nulls: 0, followsQuestion: 0 });
  const report: EvalReport = {
    answers: 0,
    wellFormed: 0,
    explicit: {} as EvalReport['explicit'],
    neutral: {} as EvalReport['neutral'],
    free: {} as EvalReport['free'],
  };
  const perCondition = new Map<string, { n: number; hit: number }>();
  for (const t of TRAIT_NAMES) {
    report.explicit[t] = { n: 0, hit: 0, worstCondition: '', worstRate: 1 };
    report.neutral[t] = emptyRate();
    report.free[t] = emptyRate();
  }
  for (const g of generations) {
    const p = byId.get(g.id);
    if (!p) throw invalidArg('generations id', 'an id from the prompt file', g.id);
    const score = scoreAnswer(g.answer, p.question);
    report.answers++;
    if (isWellFormed(score)) report.wellFormed++;
    for (const t of TRAIT_NAMES) {
      const pole = score[t];
      const want = p.explicit[t];
      if (want !== undefined) {
        report.explicit[t].n++;
        const key = `${t}@${p.condition}`;
        const c = perCondition.get(key) ?? { n: 0, hit: 0 };
        c.n++;
        if (pole === want) {
          report.explicit[t].hit++;
          c.hit++;
        }
        perCondition.set(key, c);
        continue;
      }
      const rate = p.condition === 'neutral' ? report.neutral[t] : report.free[t];
      rate.n++;
      if (pole === null) rate.nulls++;
      else rate.counts[pole] = (rate.counts[pole] ?? 0) + 1;
      if (pole === p.questionPoles[t]) rate.followsQuestion++;
    }
  }
  for (const [key, c] of perCondition) {
    const [t, condition] = key.split('@') as [TraitName, string];
    const e = report.explicit[t];
    if (e.worstCondition === '' || c.hit / c.n < e.worstRate) {
      e.worstRate = c.hit / c.n;
      e.worstCondition = condition;
    }
  }
  return report;
}

export function readGenerations(path: string): { id: string; seed: number; answer: string }[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => {
    const [id, seed, ...rest] = l.split('\t');
    return { id: id!, seed: Number(seed), answer: unescape(rest.join('\t')) };
  });
}

export function readPrompts(path: string): EvalPrompt[] {
  const all = new Map(evalPrompts().map((p) => [p.id, p]));
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => {
    const id = l.split('\t')[0]!;
    const p = all.get(id);
    if (!p) throw invalidArg('prompt id', 'an id that evalPrompts() produces', id);
    return p;
  });
}

const pct = (a: number, b: number) => (b === 0 ? 'n/a' : `${((100 * a) / b).toFixed(1)}%`);

export function formatReport(r: EvalReport): string {
  const lines = [`answers: ${r.answers}, well-formed (all three traits classifiable): ${pct(r.wellFormed, r.answers)}`,
    '', '| trait | requested pole expressed (explicit prompts) | worst condition | neutral prompt | other traits named only |',
    '|---|---|---|---|---|'];
  const poles = (t: TraitName, x: TraitRate) =>
    `${TRAIT_POLES[t].map((p) => `${p} ${pct(x.counts[p] ?? 0, x.n)}`).join(', ')}, null ${pct(x.nulls, x.n)}; `
    + `as the question implies ${pct(x.followsQuestion, x.n)} (n=${x.n})`;
  for (const t of TRAIT_NAMES) {
    const e = r.explicit[t];
    lines.push(`| ${t} | ${pct(e.hit, e.n)} (${e.hit}/${e.n}) | ${e.worstCondition} ${pct(e.worstRate, 1)} | ${poles(t, r.neutral[t])} | ${poles(t, r.free[t])} |`);
  }
  return lines.join('\n');
}

function main(argv: readonly string[]): void {
  const [cmd, ...rest] = argv;
  const args = new Map<string, string>();
  for (let i = 0; i < rest.length; i += 2) args.set(rest[i]!, rest[i + 1] ?? '');
  if (cmd === 'prompts') {
    const out = args.get('--out');
    if (!out) throw invalidArg('--out', 'a file path', out);
    const only = args.get('--condition');
    const ps = evalPrompts().filter((p) => only === undefined || p.condition === only);
    writeFileSync(out, ps.map((p) => `${p.id}\t${p.system}\t${p.question}`).join('\n') + '\n');
    process.stderr.write(`wrote ${ps.length} prompts to ${out}\n`);
  } else if (cmd === 'score') {
    const prompts = readPrompts(args.get('--prompts') ?? '');
    const report = scoreGenerations(prompts, readGenerations(args.get('--generations') ?? ''));
    process.stdout.write(formatReport(report) + '\n');
    const json = args.get('--json');
    if (json) writeFileSync(json, JSON.stringify(report, null, 1) + '\n');
  } else {
    throw invalidArg('command', '"prompts" or "score"', cmd);
  }
}

if (require.main === module) main(process.argv.slice(2));
