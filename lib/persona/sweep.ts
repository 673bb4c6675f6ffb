// A steering sweep: answer held-out questions under every (blocks x coefficient x positions)
// setting, score how much each setting expresses the trait and whether its answers stay coherent,
// and recommend the setting to record. Trait expression comes from the user's judge, or by default
// from the answers' projection on the trait direction of reference answers (the shift toward the
// positive answers' mean); coherence from the unsteered model's perplexity of each answer and how
// much it repeats itself (sweep-measure.ts; the choice rule: sweep-choice.ts).
import type { Context, MeanItem } from '../context';
import { ErrorCodes, PersonaSteerError, invalidArg } from '../errors';
import type { SteeringPlan } from '../steering';
import { checkFunction, checkInt, checkKeys, checkNumber, checkObject, checkOneOf, checkSignal, checkString, optBool, optInt, optNumber } from '../validate';
import { checkEmbeddingSize } from '../vector/model-fit';
import { PersonaVector } from '../vector/persona-vector';
import { STEER_POSITIONS, type SteerPositions } from '../vector/vector-metadata';
import { DEFAULT_SWEEP_COEFFICIENTS, defaultPositions, defaultSweepBlocks } from './defaults';
import { norm } from './extraction-math';
import { checkFormat, promptTokens, userText, type PromptFormat } from './prompt-format';
import { checkPairs, type Judge, type ResponsePair } from './responses';
import { steerAdd } from './steer';
import { chooseSetting } from './sweep-choice';
import { measureAnswer, measureReferences, type ProjectionScale } from './sweep-measure';

export type SweepUnits = 'raw' | 'relative';

export interface SweepOptions {
  /** Questions to answer, ideally held out from extraction (required, at least one). */
  questions: readonly string[];
  /** Block sets to try, each a block or an array of blocks (default: defaultSweepBlocks, single blocks). */
  blocks?: readonly (number | readonly number[])[];
  /** Coefficients to try (default 0.25, 0.5, 1, 2, 4), in `units`. */
  coefficients?: readonly number[];
  /** 'raw' (default): h += c v_b; 'relative': h += c r_b v_b/|v_b|, r_b the block's residual norm. */
  units?: SweepUnits;
  /** Each coefficient c is tried as +c and -c and scored min(rate(+c), 1 - rate(-c)) (default true). */
  symmetric?: boolean;
  /** Token positions the addition applies to; several are swept (default: defaultPositions(vector)). */
  positions?: SteerPositions | readonly SteerPositions[];
  /** System prompt the questions are asked under (default none: the user turn alone). */
  system?: string;
  /** How { system, user } becomes text (default 'chat'). */
  format?: PromptFormat;
  /** Trait score of an answer, 0-100 (an answer shows the trait at >= 50). */
  judge?: Judge;
  /** Answers showing the trait and its opposite (extraction's pairs): the default measure, and fluency references. */
  references?: readonly ResponsePair[];
  /** Tokens per answer (default 64), greedy. */
  maxTokens?: number;
  /** Coherent: mean NLL per token at most this times the reference NLL (default 1.25). */
  maxNllRatio?: number;
  /** Coherent: repeated 4-grams at most this much above the references' (default 0.2). */
  maxRepetitionIncrease?: number;
  /** The best setting must score at least this (default 0.5), else there is no recommendation. */
  minScore?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface SweepCell {
  /** Signed coefficient in the sweep's units. */
  coefficient: number;
  /** Raw coefficient per block of the setting (h += raw v_b). */
  raw: number[];
  /** Relative coefficient per block (raw |v_b| / r_b); null without residual norms. */
  relative: number[] | null;
  /** Fraction of answers showing the trait. */
  rate: number;
  /** Mean trait position: 0 at the negative references' mean, 1 at the positive's (or mean judge score / 100). */
  expression: number;
  /** Mean NLL per answer token under the unsteered model, nats; perplexity = exp(nll). */
  nll: number;
  perplexity: number;
  repetition: number;
  /** Fraction of answers that ended (end of generation) within maxTokens. */
  ended: number;
  coherent: boolean;
  answers: string[];
}

export interface SweepSetting {
  blocks: number[];
  positions: SteerPositions;
  /** The coefficient (its magnitude in a symmetric sweep), in the sweep's units. */
  coefficient: number;
  score: number;
  coherent: boolean;
  /** The cell with +coefficient (or the coefficient as given, in a one-sided sweep). */
  up: SweepCell;
  /** The cell with -coefficient (symmetric sweeps). */
  down: SweepCell | null;
}

export interface SweepResult {
  units: SweepUnits;
  symmetric: boolean;
  questions: number;
  /** How trait expression was measured. */
  measure: { kind: 'judge' } | { kind: 'projection'; block: number; positiveMean: number; negativeMean: number; separation: number; accuracy: number };
  /** The fluency of the unsteered answers and the references (the worse of them): NLL per token, repetition. */
  reference: { nll: number; repetition: number };
  /** What a coherent cell may reach: maxNllRatio x reference.nll, and reference.repetition + maxRepetitionIncrease. */
  limits: { nll: number; repetition: number };
  /** The unsteered answers. */
  baseline: SweepCell;
  settings: SweepSetting[];
  best: SweepSetting | null;
  /** The best setting as one raw coefficient (what a vector's metadata records); null when none, or when
   *  a relative coefficient gives different raw ones on the setting's blocks. */
  recommendation: { blocks: number[]; coefficient: number; positions: SteerPositions } | null;
}

const OPTION_KEYS = ['questions', 'blocks', 'coefficients', 'units', 'symmetric', 'positions', 'system', 'format', 'judge', 'references',
  'maxTokens', 'maxNllRatio', 'maxRepetitionIncrease', 'minScore', 'signal', 'onProgress'] as const;

function aborted(): PersonaSteerError {
  return new PersonaSteerError(ErrorCodes.ABORTED, 'the steering sweep was aborted');
}

function checkBlockSets(value: unknown, vector: PersonaVector, blockCount: number): number[][] {
  if (value === undefined) return defaultSweepBlocks(vector, blockCount);
  if (!Array.isArray(value) || value.length === 0) throw invalidArg('options.blocks', 'a non-empty array of blocks or arrays of blocks', value);
  return value.map((set, i) => {
    const list = typeof set === 'number' ? [set] : Array.isArray(set) && set.length > 0 ? set : null;
    if (list === null) throw invalidArg(`options.blocks[${i}]`, 'a block or a non-empty array of blocks', set);
    list.forEach((b: unknown, k: number) => {
      const name = typeof set === 'number' ? `options.blocks[${i}]` : `options.blocks[${i}][${k}]`;
      checkInt(name, b, 0, blockCount - 1);
      if (!vector.has(b as number)) throw invalidArg(name, `a block the vector has (${vector.blocks.join(', ')})`, b);
    });
    return [...new Set(list as number[])].sort((a, b) => a - b);
  });
}

function checkPositionsList(value: unknown, vector: PersonaVector): SteerPositions[] {
  if (value === undefined) return [defaultPositions(vector)];
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw invalidArg('options.positions', `one of ${STEER_POSITIONS.join(', ')} or a non-empty array of them`, value);
  return [...new Set(list.map((p, i) => checkOneOf(Array.isArray(value) ? `options.positions[${i}]` : 'options.positions', p, STEER_POSITIONS)))];
}

/** Sweeps steering settings on held-out questions and recommends one (docs/persona.md, "The sweep"). */
export async function sweepSteering(context: Context, vector: PersonaVector, options: SweepOptions): Promise<SweepResult> {
  if (!(vector instanceof PersonaVector)) throw invalidArg('vector', 'a PersonaVector', vector);
  const o = checkObject('options', options, false);
  checkKeys('options', o, OPTION_KEYS);
  const info = context.model.info;
  checkEmbeddingSize(vector, info.embeddingSize);
  if (!Array.isArray(o.questions) || o.questions.length === 0) throw invalidArg('options.questions', 'a non-empty array of questions', o.questions);
  const questions = (o.questions as unknown[]).map((q, i) => checkString(`options.questions[${i}]`, q));
  const sets = checkBlockSets(o.blocks, vector, info.blockCount);
  const units = checkOneOf('options.units', o.units, ['raw', 'relative'] as const, 'raw');
  const symmetric = optBool('options.symmetric', o.symmetric, true);
  const coefficients = o.coefficients === undefined ? [...DEFAULT_SWEEP_COEFFICIENTS] : (() => {
    if (!Array.isArray(o.coefficients) || o.coefficients.length === 0) throw invalidArg('options.coefficients', 'a non-empty array of numbers', o.coefficients);
    return [...new Set((o.coefficients as unknown[]).map((c, i) => checkNumber(`options.coefficients[${i}]`, c)))];
  })();
  if (symmetric) coefficients.forEach((c, i) => { if (!(c > 0)) throw invalidArg(`options.coefficients[${i}]`, 'a number > 0 (a symmetric sweep tries +c and -c; pass symmetric: false for signed coefficients)', c); });
  const positionsList = checkPositionsList(o.positions, vector);
  const system = o.system === undefined ? undefined : checkString('options.system', o.system);
  const format = checkFormat('options.format', o.format, context.model);
  const judge = checkFunction<Judge>('options.judge', o.judge);
  const references = o.references === undefined ? undefined : checkPairs('options.references', o.references);
  if (!judge && !references) throw invalidArg('options', 'a judge or references (answers showing the trait and its opposite) to measure trait expression by', options);
  const maxTokens = optInt('options.maxTokens', o.maxTokens, 1, 1 << 16, 64);
  const maxNllRatio = optNumber('options.maxNllRatio', o.maxNllRatio, 1, 1e6, 1.25);
  const maxRepetitionIncrease = optNumber('options.maxRepetitionIncrease', o.maxRepetitionIncrease, 0, 1, 0.2);
  const minScore = optNumber('options.minScore', o.minScore, 0, 1, 0.5);
  const signal = checkSignal('options.signal', o.signal);
  const onProgress = checkFunction<(d: number, t: number) => void>('options.onProgress', o.onProgress);

  const norms = vector.metadata.residualNorms;
  const hasNorms = sets.every((s) => s.every((b) => norms?.[b] !== undefined && norms[b]! > 0));
  if (units === 'relative' && !hasNorms) {
    throw invalidArg('vector.metadata.residualNorms', 'an entry for every swept block (relative coefficients are in units of it)', norms);
  }
  const vnorm = new Map(vector.blocks.map((b) => [b, norm(vector.block(b))]));
  const toRaw = (c: number, b: number) => (units === 'raw' ? c : (c * norms![b]!) / vnorm.get(b)!);
  const toRelative = (c: number, b: number) => (units === 'relative' ? c : (c * vnorm.get(b)!) / norms![b]!);

  const signed = symmetric ? coefficients.flatMap((c) => [c, -c]) : coefficients;
  const cellsTotal = sets.length * positionsList.length * signed.length + 1;
  const total = (references ? references.length * 2 : 0) + cellsTotal * questions.length;
  let done = 0;
  const tick = () => onProgress?.(++done, total);

  const prompts = questions.map((q) => promptTokens(context.model, system === undefined ? { user: q } : { system, user: q }, format));
  const ref = references ? await measureReferences(context, references, [...vector.blocks], { system, format },
    (p) => p.question ?? userText(p.positive.prompt), signal, tick) : null;
  const scale: ProjectionScale | null = judge ? null : ref!.scale;
  if (!judge && scale === null) {
    throw new PersonaSteerError(ErrorCodes.EXTRACTION, 'the reference answers give no trait direction (their positive and negative answers read the same at every block)');
  }
  const eog = info.eotToken >= 0 ? info.eotToken : info.eosToken;

  const runCell = async (coefficient: number, plan: SteeringPlan | null, raw: number[], relative: number[] | null): Promise<Omit<SweepCell, 'coherent'>> => {
    if (signal?.aborted) throw aborted();
    // All at once: a context with several sequences decodes them together, one with one runs them in turn.
    const results = await Promise.all(prompts.map((tokens) => context.complete(tokens, { greedy: true, maxTokens, steer: plan, signal })));
    if (results.some((r) => r.stopReason === 'abort')) throw aborted();
    const answers = results.map((r) => ({ text: r.text, tokens: [...r.tokens], ended: r.stopReason === 'eog' }));
    let rate = 0;
    let expression = 0;
    let nll = 0;
    let rep = 0;
    for (const [i, a] of answers.entries()) {
      if (signal?.aborted) throw aborted();
      // An answer that ended at once is scored as the end-of-generation token it chose.
      const body = a.tokens.length > 0 ? a.tokens : [eog];
      const p = prompts[i]!;
      const item: MeanItem = { tokens: Int32Array.from([...p, ...body]), start: p.length, end: p.length + body.length };
      const m = await measureAnswer(context, item, scale);
      nll += m.nll;
      rep += m.repetition;
      let position: number;
      if (judge) {
        const s = await judge(questions[i]!, a.text);
        if (typeof s !== 'number' || !Number.isFinite(s) || s < 0 || s > 100) {
          throw invalidArg(`the score options.judge returned for question ${i}`, 'a finite number in [0, 100]', s);
        }
        position = s / 100;
      } else {
        position = a.tokens.length > 0 ? (m.projection - scale!.negativeMean) / (scale!.positiveMean - scale!.negativeMean) : 0;
      }
      expression += position;
      if (position >= 0.5) rate++;
      tick();
    }
    const n = answers.length;
    return {
      coefficient, raw, relative, rate: rate / n, expression: expression / n, nll: nll / n, perplexity: Math.exp(nll / n),
      repetition: rep / n, ended: answers.filter((a) => a.ended).length / n, answers: answers.map((a) => a.text),
    };
  };

  const base = await runCell(0, null, [], null);
  const reference = {
    nll: Math.max(base.nll, ref?.positive.nll ?? -Infinity, ref?.negative.nll ?? -Infinity, 0.01),
    repetition: Math.max(base.repetition, ref?.positive.repetition ?? 0, ref?.negative.repetition ?? 0),
  };
  const limits = { nll: maxNllRatio * reference.nll, repetition: reference.repetition + maxRepetitionIncrease };
  const coherent = (c: Omit<SweepCell, 'coherent'>) => c.nll <= limits.nll && c.repetition <= limits.repetition;
  const withCoherence = (c: Omit<SweepCell, 'coherent'>): SweepCell => ({ ...c, coherent: coherent(c) });

  const settings: SweepSetting[] = [];
  for (const positions of positionsList) {
    for (const blocks of sets) {
      for (const c of coefficients) {
        const cellFor = async (x: number) => {
          const op = units === 'raw' ? steerAdd(vector, x, { blocks }) : steerAdd(vector, x, { blocks, relative: true });
          return withCoherence(await runCell(x, { ops: [op], positions }, blocks.map((b) => toRaw(x, b)), hasNorms ? blocks.map((b) => toRelative(x, b)) : null));
        };
        const up = await cellFor(c);
        const down = symmetric ? await cellFor(-c) : null;
        const score = down ? Math.min(up.rate, 1 - down.rate) : c >= 0 ? up.rate : 1 - up.rate;
        settings.push({ blocks, positions, coefficient: c, score, coherent: up.coherent && (down?.coherent ?? true), up, down });
      }
    }
  }
  const pick = chooseSetting(settings.map((s) => ({
    key: `${s.positions}@${s.blocks.join(',')}`, coefficient: s.coefficient, score: s.score, coherent: s.coherent,
    nll: s.down ? (s.up.nll + s.down.nll) / 2 : s.up.nll,
  })), minScore);
  const best = pick >= 0 ? settings[pick]! : null;
  let recommendation: SweepResult['recommendation'] = null;
  if (best) {
    const raw = best.blocks.map((b) => toRaw(best.coefficient, b));
    const uniform = raw.every((x) => Math.abs(x - raw[0]!) <= 1e-9 * Math.max(1, Math.abs(raw[0]!)));
    if (uniform) recommendation = { blocks: [...best.blocks], coefficient: raw[0]!, positions: best.positions };
  }
  return {
    units,
    symmetric,
    questions: questions.length,
    measure: scale ? {
      kind: 'projection', block: scale.block, positiveMean: scale.positiveMean, negativeMean: scale.negativeMean, separation: scale.separation, accuracy: scale.accuracy,
    } : { kind: 'judge' },
    reference,
    limits,
    baseline: withCoherence(base),
    settings,
    best,
    recommendation,
  };
}
