// Behavioural acceptance of the persona recipe on the toy model. Input per trait:
// only its two contrastive system prompts and 12 training questions (toySpec, as in
// examples/traits/); every setting at its default. Then, on held-out questions, greedy, judged by
// the repository's scorer: extract, add the vector at its recorded recommendation under the neutral
// prompt, subtract it, calibrate, and cap under the trait-pushing prompt. Through the API and
// through the CLI (extract, chat --add, calibrate, chat --cap).
//   npm run toy:acceptance -- [--model FILE] [--questions N] [--traits a,b] [--paths api,cli] [--threads N] [--json]
// (builds the library and this folder, then runs node dist/toy-model/acceptance.js). Like every
// file here it drives the built library in dist/, as a user's program would.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  Model, calibrateCap, cap, extractPersonaVector, personaPlan, readControlVector, steerAdd, withCapThresholds,
  type Context, type PersonaVector, type SteeringPlan,
} from '../../dist/index';
import { DEFAULT_TOY_MODEL } from '../../dist/toy/model-path';
import { evalQuestions } from '../../dist/toy/questions';
import { isWellFormed, scoreAnswer, type TraitScore } from '../../dist/toy/scorer';
import { toySpec, type Q } from '../../dist/toy/spec';
import { NEUTRAL_SYSTEM_PROMPT, SYSTEM_PROMPTS, TRAIT_NAMES, TRAIT_POLES, type TraitName } from '../../dist/toy/traits';

// From dist/toy-model or (in tests) scripts/toy-model: the built CLI either way.
const CLI = path.resolve(__dirname, '..', '..', 'dist', 'cli', 'main.js');

/** Tokens per acceptance answer (the toy model's answers end well within it). */
export const ANSWER_TOKENS = 96;

export type RecipePath = 'api' | 'cli';

export interface AcceptanceOptions {
  /** Held-out questions (default 100, all of them). */
  questions?: number;
  traits?: TraitName[];
  paths?: RecipePath[];
  threads?: number;
  log?: (line: string) => void;
}

export interface TraitAcceptance {
  trait: TraitName;
  path: RecipePath;
  /** What extract recorded. */
  recommendation: { blocks: number[]; coefficient: number | null; positions: string | null; by: string | null };
  cap: { blocks: number[]; thresholds: number[]; positions: string | null };
  questions: number;
  /** Neutral prompt, unsteered: fraction with the positive pole. */
  neutral: number;
  /** Held-out questions whose unsteered neutral answer has the negative pole, and those with the positive one. */
  negativeLeaning: number;
  positiveLeaning: number;
  /** + recorded recommendation: fraction of negative-leaning answers turned to the positive pole. */
  added: number;
  /** - the recorded coefficient: fraction of positive-leaning answers still positive. */
  subtracted: number;
  /** Well-formed (every trait classifiable), worst of the two steered conditions, all questions. */
  wellFormed: number;
  /** Under the positive prompt: positive rate without and with the recorded cap; well-formed capped. */
  explicitPositive: number;
  capped: number;
  cappedWellFormed: number;
  /** Under the negative prompt: fraction of answers the cap changed at all. */
  capChangedUnderNegative: number;
  /** Largest move (rate points) of another trait's positive rate under +v or -v. */
  crossTraitShift: number;
  /** API path: AUROC of the last-prompt projection, positive vs negative prompt, best block. */
  auroc?: number;
  seconds: number;
}

type Answer = { text: string; score: TraitScore };

function chat(system: string, user: string) {
  return { messages: [{ role: 'system', content: system }, { role: 'user', content: user }] };
}

async function apiAnswers(ctx: Context, system: string, qs: readonly string[], steer: SteeringPlan | null): Promise<Answer[]> {
  const out: Answer[] = [];
  for (const q of qs) {
    const r = await ctx.complete(chat(system, q), { greedy: true, maxTokens: ANSWER_TOKENS, steer });
    out.push({ text: r.text, score: scoreAnswer(r.text, q) });
  }
  return out;
}

/** Probability that a random positive scores above a random negative (ties count half). */
export function auroc(pos: ArrayLike<number>, neg: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < pos.length; i++) for (let j = 0; j < neg.length; j++) s += pos[i] > neg[j] ? 1 : pos[i] === neg[j] ? 0.5 : 0;
  return s / (pos.length * neg.length);
}

/** Per block, the projection at the prompt's last token under `system`: one value per question, one pass. */
export async function lastPromptProjections(ctx: Context, vector: PersonaVector, system: string, qs: readonly Q[],
  blocks: readonly number[] = vector.blocks): Promise<Map<number, number[]>> {
  const items = qs.map((q) => {
    const tokens = ctx.model.tokenize(ctx.model.applyChatTemplate(chat(system, q.question).messages), { addSpecial: false });
    return { tokens, start: tokens.length - 1, end: tokens.length };
  });
  const res = await ctx.projectionMeans(items, [{ name: 'v', vector, blocks: [...blocks] }]);
  return new Map(res.map((r) => [r.block, Array.from(r.values)]));
}

interface Conditions {
  neutral: Answer[]; added: Answer[]; subtracted: Answer[]; pushed: Answer[]; capped: Answer[]; opposite: Answer[]; oppositeCapped: Answer[];
}

function summarize(trait: TraitName, path: RecipePath, v: PersonaVector, c: Conditions, seconds: number): TraitAcceptance {
  const [pos, neg] = TRAIT_POLES[trait];
  const is = (a: Answer, pole: string) => (a.score as unknown as Record<string, string | null>)[trait] === pole;
  const negIdx = c.neutral.flatMap((a, i) => (is(a, neg) ? [i] : []));
  const posIdx = c.neutral.flatMap((a, i) => (is(a, pos) ? [i] : []));
  const frac = (xs: Answer[], idx: number[], pole: string) => (idx.length === 0 ? NaN : idx.filter((i) => is(xs[i]!, pole)).length / idx.length);
  const all = c.neutral.map((_, i) => i);
  const wf = (xs: Answer[]) => xs.filter((a) => isWellFormed(a.score)).length / xs.length;
  const others = TRAIT_NAMES.filter((t) => t !== trait);
  const rateOf = (xs: Answer[], t: TraitName) => xs.filter((a) => a.score[t] === TRAIT_POLES[t][0]).length / xs.length;
  const md = v.metadata;
  return {
    trait,
    path,
    recommendation: { blocks: [...(md.recommendedBlocks ?? [])], coefficient: md.coefficient ?? null, positions: md.positions ?? null, by: md.recommendedBy ?? null },
    cap: { blocks: [...(md.capBlocks ?? [])], thresholds: [...(md.capThresholds ?? [])], positions: md.capPositions ?? null },
    questions: c.neutral.length,
    neutral: frac(c.neutral, all, pos),
    negativeLeaning: negIdx.length,
    positiveLeaning: posIdx.length,
    added: frac(c.added, negIdx, pos),
    subtracted: frac(c.subtracted, posIdx, pos),
    wellFormed: Math.min(wf(c.added), wf(c.subtracted)),
    explicitPositive: frac(c.pushed, all, pos),
    capped: frac(c.capped, all, pos),
    cappedWellFormed: wf(c.capped),
    capChangedUnderNegative: c.opposite.filter((a, i) => a.text !== c.oppositeCapped[i]!.text).length / c.opposite.length,
    crossTraitShift: 100 * Math.max(...others.map((t) => Math.max(Math.abs(rateOf(c.added, t) - rateOf(c.neutral, t)), Math.abs(rateOf(c.subtracted, t) - rateOf(c.neutral, t))))),
    seconds,
  };
}

/** The recipe through the library, every option at its default. */
export async function runApiRecipe(ctx: Context, trait: TraitName, qs: readonly string[]): Promise<{ row: TraitAcceptance; vector: PersonaVector }> {
  const t0 = Date.now();
  const [pos, neg] = TRAIT_POLES[trait];
  const prompts = SYSTEM_PROMPTS[trait] as Record<string, string>;
  const spec = toySpec(trait);
  const v = (await extractPersonaVector(ctx, spec)).vector;
  const c = v.metadata.coefficient;
  if (c === undefined) throw new Error(`${trait}: extraction recorded no coefficient (${v.metadata.recommendedBy})`);
  const cal = await calibrateCap(ctx, v, spec.extractionQuestions.map((q) => ({ messages: [{ role: 'user', content: q }] })));
  const vc = withCapThresholds(v, cal);
  const capPlan = personaPlan([cap(vc)]);
  const conditions: Conditions = {
    neutral: await apiAnswers(ctx, NEUTRAL_SYSTEM_PROMPT, qs, null),
    added: await apiAnswers(ctx, NEUTRAL_SYSTEM_PROMPT, qs, personaPlan([steerAdd(v)])),
    subtracted: await apiAnswers(ctx, NEUTRAL_SYSTEM_PROMPT, qs, personaPlan([steerAdd(v, -c)])),
    pushed: await apiAnswers(ctx, prompts[pos]!, qs, null),
    capped: await apiAnswers(ctx, prompts[pos]!, qs, capPlan),
    opposite: await apiAnswers(ctx, prompts[neg]!, qs, null),
    oppositeCapped: await apiAnswers(ctx, prompts[neg]!, qs, capPlan),
  };
  const row = summarize(trait, 'api', vc, conditions, (Date.now() - t0) / 1000);
  const held = qs.map((question) => ({ question }));
  const pPos = await lastPromptProjections(ctx, v, prompts[pos]!, held);
  const pNeg = await lastPromptProjections(ctx, v, prompts[neg]!, held);
  row.auroc = Math.max(...v.blocks.map((b) => auroc(pPos.get(b)!, pNeg.get(b)!)));
  return { row, vector: vc };
}

function cli(args: string[], input?: string): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input: input ?? '', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`persona-steer ${args[0]} exited with ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Answers from `persona-steer chat --json`: one user turn per question, /reset between them. */
function cliAnswers(common: string[], system: string, qs: readonly string[], steering: string[]): Answer[] {
  const input = qs.map((q) => `${q}\n/reset\n`).join('');
  const out = cli(['chat', ...common, '--system', system, '--greedy', '--max-tokens', String(ANSWER_TOKENS), '--json', ...steering], input);
  const replies = out.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { type: string; text?: string }).filter((l) => l.type === 'reply');
  if (replies.length !== qs.length) throw new Error(`persona-steer chat answered ${replies.length} of ${qs.length} questions`);
  return replies.map((r, i) => ({ text: r.text!, score: scoreAnswer(r.text!, qs[i]) }));
}

/** The recipe through the CLI, every flag at its default: extract, chat --add, calibrate, chat --cap. */
export async function runCliRecipe(modelPath: string, trait: TraitName, qs: readonly string[], threads: number): Promise<{ row: TraitAcceptance; file: string }> {
  const t0 = Date.now();
  const [pos, neg] = TRAIT_POLES[trait];
  const prompts = SYSTEM_PROMPTS[trait] as Record<string, string>;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `persona-recipe-${trait}-`));
  const specFile = path.join(dir, `${trait}.json`);
  const file = path.join(dir, `${trait}.gguf`);
  fs.writeFileSync(specFile, `${JSON.stringify(toySpec(trait), null, 2)}\n`);
  const common = ['--model', modelPath, '--threads', String(threads)];
  cli(['extract', ...common, '--spec', specFile, '--out', file]);
  const c = (await readControlVector(file)).metadata.coefficient;
  if (c === undefined) throw new Error(`${trait}: persona-steer extract recorded no coefficient`);
  const neutral = cliAnswers(common, NEUTRAL_SYSTEM_PROMPT, qs, []);
  const added = cliAnswers(common, NEUTRAL_SYSTEM_PROMPT, qs, ['--add', file]);
  const subtracted = cliAnswers(common, NEUTRAL_SYSTEM_PROMPT, qs, ['--add', `${file}:${-c}`]);
  cli(['calibrate', ...common, '--vector', file, '--spec', specFile]);
  const conditions: Conditions = {
    neutral, added, subtracted,
    pushed: cliAnswers(common, prompts[pos]!, qs, []),
    capped: cliAnswers(common, prompts[pos]!, qs, ['--cap', file]),
    opposite: cliAnswers(common, prompts[neg]!, qs, []),
    oppositeCapped: cliAnswers(common, prompts[neg]!, qs, ['--cap', file]),
  };
  const vector = await readControlVector(file);
  return { row: summarize(trait, 'cli', vector, conditions, (Date.now() - t0) / 1000), file };
}

export async function runAcceptance(modelPath: string, options: AcceptanceOptions = {}): Promise<TraitAcceptance[]> {
  const log = options.log ?? (() => undefined);
  const qs = evalQuestions().slice(0, options.questions ?? 100).map((q) => q.question);
  const threads = options.threads ?? 1;
  const paths = options.paths ?? ['api', 'cli'];
  const out: TraitAcceptance[] = [];
  if (paths.includes('api')) {
    const model = await Model.load(modelPath);
    const ctx = await model.createContext({ contextSize: 512, threads });
    try {
      for (const trait of options.traits ?? [...TRAIT_NAMES]) {
        log(`${trait} (API): extract with defaults, steer, calibrate, cap; ${qs.length} held-out questions`);
        out.push((await runApiRecipe(ctx, trait, qs)).row);
      }
    } finally {
      await ctx.dispose();
      model.dispose();
    }
  }
  if (paths.includes('cli')) {
    for (const trait of options.traits ?? [...TRAIT_NAMES]) {
      log(`${trait} (CLI): persona-steer extract, chat --add, calibrate, chat --cap; ${qs.length} held-out questions`);
      out.push((await runCliRecipe(modelPath, trait, qs, threads)).row);
    }
  }
  return out;
}

const pct = (x: number) => (Number.isFinite(x) ? `${Math.round(x * 100)}%` : 'n/a');

export function formatAcceptance(rows: TraitAcceptance[]): string {
  const lines = [
    '| trait | path | recorded: blocks; coefficient; positions | neutral + | +v on −-leaning (n) | −v on +-leaning (n) | well-formed ±v | explicit + | capped under + | cap changes under − | max cross-trait shift | AUROC | seconds |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    const rec = r.recommendation;
    lines.push(`| ${r.trait} | ${r.path} | ${rec.blocks.join(',')}; ${rec.coefficient}; ${rec.positions} | ${pct(r.neutral)} | ${pct(r.added)} (${r.negativeLeaning}) | ` +
      `${pct(r.subtracted)} (${r.positiveLeaning}) | ${pct(r.wellFormed)} | ${pct(r.explicitPositive)} | ${pct(r.capped)} | ${pct(r.capChangedUnderNegative)} | ` +
      `${r.crossTraitShift.toFixed(0)} pts | ${r.auroc === undefined ? '—' : r.auroc.toFixed(3)} | ${r.seconds.toFixed(0)} |`);
  }
  return lines.join('\n');
}

/** The recipe's targets on the toy model: +v >= 90%, -v <= 10%, well-formed >= 90%, capped <= 20%. */
export function meetsTargets(r: TraitAcceptance): boolean {
  return r.added >= 0.9 && r.subtracted <= 0.1 && r.wellFormed >= 0.9 && r.capped <= 0.2 && r.cappedWellFormed >= 0.9;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const get = (flag: string) => { const i = args.indexOf(flag); return i >= 0 ? args[i + 1] : undefined; };
  const json = args.includes('--json');
  runAcceptance(get('--model') ?? DEFAULT_TOY_MODEL, {
    questions: get('--questions') ? Number(get('--questions')) : undefined,
    traits: get('--traits') ? (get('--traits')!.split(',') as TraitName[]) : undefined,
    paths: get('--paths') ? (get('--paths')!.split(',') as RecipePath[]) : undefined,
    threads: get('--threads') ? Number(get('--threads')) : undefined,
    log: json ? undefined : (s) => process.stderr.write(`${s}\n`),
  }).then((rows) => {
    process.stdout.write(json ? `${JSON.stringify(rows, null, 2)}\n` : `${formatAcceptance(rows)}\n`);
    const failed = rows.filter((r) => !meetsTargets(r));
    if (!json) process.stdout.write(failed.length === 0 ? 'every row meets the targets\n' : `${failed.length} row(s) miss a target: ${failed.map((r) => `${r.trait}/${r.path}`).join(', ')}\n`);
    process.exitCode = failed.length === 0 ? 0 : 1;
  }, (err) => {
    process.stderr.write(`${err.code ?? 'ERROR'}: ${err.message}\n`);
    process.exit(1);
  });
}
