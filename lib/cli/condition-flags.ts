// Conditional steering flags (CAST) for generate and chat:
//   --if-above FILE[@BLOCK][:THRESHOLD]   steer only when the prompt's projection on FILE's vector
//   --if-below FILE[@BLOCK][:THRESHOLD]   at BLOCK is above (below) THRESHOLD
//   --if-mode any|all                     several conditions: any one (default) or all of them
// BLOCK defaults to the last of the file's cap blocks (else recommended blocks); THRESHOLD to the
// file's recorded cap threshold there (persona-steer calibrate: the neutral prompt's mean).
import type { Context, PromptInput } from '../context';
import { checkConditions, type ConditionCheck, type SteeringCondition } from '../persona/conditional';
import type { Model } from '../model';
import { choice, list, parseIntText, parseNumberText, usageError, type FlagSpec, type Values } from './args';
import { checkFileBlocks, loadVector } from './common';
import type { VectorCache } from './steer-flags';
import { PersonaSteerError, ErrorCodes } from '../errors';

export const CONDITION_FLAGS: FlagSpec = {
  'if-above': { type: 'string', multiple: true },
  'if-below': { type: 'string', multiple: true },
  'if-mode': { type: 'string' },
};

export interface ConditionSpec {
  when: 'above' | 'below';
  file: string;
  block?: number;
  threshold?: number;
}

export function parseCondition(when: 'above' | 'below', text: string): ConditionSpec {
  const flag = `--if-${when}`;
  let rest = text;
  let threshold: number | undefined;
  const colon = /^(.+):([-+.\d][^:@]*)$/.exec(rest);
  if (colon) {
    rest = colon[1]!;
    threshold = parseNumberText(`${flag} ${text} (the threshold after :)`, colon[2]!);
  }
  let block: number | undefined;
  const at = /^(.+)@(\d+)$/.exec(rest);
  if (at) {
    rest = at[1]!;
    block = parseIntText(`${flag} ${text} (the block after @)`, at[2]!, 0, 65_535);
  }
  if (rest.length === 0) throw usageError(`${flag} takes FILE[@BLOCK][:THRESHOLD]; received ${JSON.stringify(text)}`);
  return { when, file: rest, ...(block !== undefined ? { block } : {}), ...(threshold !== undefined ? { threshold } : {}) };
}

export function conditionSpecs(values: Values): { specs: ConditionSpec[]; mode: 'any' | 'all' } {
  const specs = [...list(values, 'if-above').map((t) => parseCondition('above', t)), ...list(values, 'if-below').map((t) => parseCondition('below', t))];
  const mode = choice(values, 'if-mode', ['any', 'all'] as const);
  if (mode !== undefined && specs.length === 0) throw usageError('--if-mode needs --if-above or --if-below');
  return { specs, mode: mode ?? 'any' };
}

/** The conditions as the library takes them; a file or block problem names the flag. */
export async function buildConditions(specs: ConditionSpec[], model: Model, cache: VectorCache): Promise<SteeringCondition[]> {
  const out: SteeringCondition[] = [];
  for (const s of specs) {
    let v = cache.get(s.file);
    if (!v) { v = await loadVector(s.file, model); cache.set(s.file, v); }
    const flag = `--if-${s.when} ${s.file}`;
    if (s.block !== undefined) checkFileBlocks(`${flag}@${s.block}`, s.file, [s.block], v);
    const c: SteeringCondition = { vector: v, when: s.when };
    if (s.block !== undefined) c.block = s.block;
    if (s.threshold !== undefined) c.threshold = s.threshold;
    out.push(c);
  }
  return out;
}

/** Checks the prompt; errors from the library (a missing recorded threshold) name the flag. */
export async function checkPrompt(context: Context, prompt: PromptInput, specs: ConditionSpec[], conditions: SteeringCondition[],
  mode: 'any' | 'all', signal: AbortSignal): Promise<ConditionCheck> {
  try {
    return await checkConditions(context, prompt, conditions, { mode, signal });
  } catch (e) {
    const m = e instanceof PersonaSteerError && e.code === ErrorCodes.INVALID_ARG ? /^conditions\[(\d+)\]\.threshold/.exec(e.message) : null;
    if (m) {
      const s = specs[Number(m[1])]!;
      throw usageError(`--if-${s.when} ${s.file}: the file records no cap threshold at that block; give one as ${s.file}${s.block !== undefined ? `@${s.block}` : ''}:THRESHOLD, or record them with persona-steer calibrate`);
    }
    throw e;
  }
}

/** The check in words: "matched (any): happy@3 = 1.2 > 0.5". */
export function describeCheck(specs: ConditionSpec[], check: ConditionCheck): string {
  const parts = check.values.map((v, i) => `${specs[i]!.file}@${v.block} = ${v.value.toFixed(3)} ${v.when === 'above' ? '>' : '<'} ${v.threshold.toFixed(3)}: ${v.holds ? 'yes' : 'no'}`);
  return `condition ${check.matched ? 'met' : 'not met'} (${check.mode}): ${parts.join('; ')}`;
}
