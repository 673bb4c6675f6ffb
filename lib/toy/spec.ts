// The trait spec a user would write for the toy model: a trait's two contrastive system prompts and
// a dozen training questions, nothing else (examples/traits/ holds these files; the acceptance and
// the demo start from them).
import type { TraitSpec } from '../persona/trait-spec';
import { TRAIN_CLAIMS, TRAIN_TEMPLATES, renderQuestion } from './questions';
import { SYSTEM_PROMPTS, TRAIT_POLES, type TraitName } from './traits';

/** Training questions in a trait spec: "a dozen". */
export const SPEC_QUESTIONS = 12;

export interface Q { question: string }

/** Training-distribution questions (never in the held-out set). */
export function trainQuestions(n: number): Q[] {
  const out: Q[] = [];
  for (let i = 0; out.length < n && i < TRAIN_CLAIMS.length * TRAIN_TEMPLATES.length; i++) {
    const claim = TRAIN_CLAIMS[(i * 7) % TRAIN_CLAIMS.length]!;
    out.push({ question: renderQuestion(TRAIN_TEMPLATES[i % TRAIN_TEMPLATES.length]!, claim) });
  }
  return out;
}

export function toySpec(trait: TraitName): TraitSpec {
  const [pos, neg] = TRAIT_POLES[trait];
  const prompts = SYSTEM_PROMPTS[trait] as Record<string, string>;
  return {
    name: trait,
    description: `${pos} versus ${neg} answers of the toy persona model`,
    pairs: [{ positive: prompts[pos]!, negative: prompts[neg]! }],
    extractionQuestions: trainQuestions(SPEC_QUESTIONS).map((q) => q.question),
  };
}
