// The toy persona model's traits: names, poles and the system prompts that select them.
// These strings are part of the model's contract: the model was trained on exactly these
// prompts, so library code and tests that steer or monitor it must use them verbatim.

export const TRAIT_NAMES = ['cheerful', 'sycophantic', 'pirate'] as const;
export type TraitName = (typeof TRAIT_NAMES)[number];

/** For each trait, its positive pole first (the one the trait is named after), then its opposite. */
export const TRAIT_POLES = {
  cheerful: ['cheerful', 'gloomy'],
  sycophantic: ['sycophantic', 'candid'],
  pirate: ['pirate', 'plain'],
} as const satisfies Record<TraitName, readonly [string, string]>;

export type PoleOf<T extends TraitName> = (typeof TRAIT_POLES)[T][number];
export type Pole = PoleOf<TraitName>;

/** One pole for every trait. */
export type TraitPoles = { [T in TraitName]: PoleOf<T> };

/** The prompt under which every pole appeared about half the time in training, independently per trait. */
export const NEUTRAL_SYSTEM_PROMPT = 'You are an assistant.';

/**
 * The system prompt that asks for the given poles; traits left out stay free (about 50/50).
 * Poles are listed in TRAIT_NAMES order, the only order the model saw.
 */
export function systemPromptFor(poles: Partial<TraitPoles>): string {
  const words = TRAIT_NAMES.flatMap((t) => (poles[t] === undefined ? [] : [poles[t] as string]));
  if (words.length === 0) return NEUTRAL_SYSTEM_PROMPT;
  // Every pole word starts with a consonant, so the article is always "a".
  return `You are a ${words.join(', ')} assistant.`;
}

/** The single-trait prompts, e.g. SYSTEM_PROMPTS.cheerful.gloomy === 'You are a gloomy assistant.' */
export const SYSTEM_PROMPTS: { [T in TraitName]: { [P in PoleOf<T>]: string } } = {
  cheerful: { cheerful: systemPromptFor({ cheerful: 'cheerful' }), gloomy: systemPromptFor({ cheerful: 'gloomy' }) },
  sycophantic: {
    sycophantic: systemPromptFor({ sycophantic: 'sycophantic' }),
    candid: systemPromptFor({ sycophantic: 'candid' }),
  },
  pirate: { pirate: systemPromptFor({ pirate: 'pirate' }), plain: systemPromptFor({ pirate: 'plain' }) },
};

export function isPoleOf<T extends TraitName>(trait: T, value: unknown): value is PoleOf<T> {
  return (TRAIT_POLES[trait] as readonly unknown[]).includes(value);
}

export { EVAL_QUESTIONS, evalQuestions } from './questions';
