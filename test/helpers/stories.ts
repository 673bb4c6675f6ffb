// Contrasting story openings for stories260K (a TinyStories model): the same opening continued
// happily or sadly, differing only in the emotion words, so the mean difference is about mood.
export const OPENINGS = [
  'Once upon a time, there was a girl named Lily.', 'One day, Tim went to the park.', 'Once upon a time, there was a little dog.',
  'Lily and her mom went to the store.', 'Once upon a time, there was a big cat.', 'Tom had a new toy.', 'One day, Sue saw a bird.',
  'Once upon a time, there was a boy named Ben.',
];
export const HAPPY = [
  ' She was very happy. She smiled and laughed all day.', ' He was so happy. He smiled and laughed.', ' The dog was happy. He wagged his tail and smiled.',
  ' Lily was very happy. She laughed and smiled at her mom.', ' The cat was happy and glad. She smiled.', ' He was so happy and excited. He laughed and smiled.',
  ' She was happy. She smiled and laughed with joy.', ' Ben was very happy. He smiled and laughed all day.',
];
export const SAD = [
  ' She was very sad. She cried and cried all day.', ' He was so sad. He cried and frowned.', ' The dog was sad. He hung his head and cried.',
  ' Lily was very sad. She cried and frowned at her mom.', ' The cat was sad and upset. She cried.', ' He was so sad and upset. He cried and frowned.',
  ' She was sad. She cried and sobbed with sorrow.', ' Ben was very sad. He cried and frowned all day.',
];

/** Response pairs (raw-text prompts) for extractPersonaVector's { trait, samples }. */
export function storyPairs(n = OPENINGS.length): { positive: { prompt: string; response: string }; negative: { prompt: string; response: string } }[] {
  return OPENINGS.slice(0, n).map((o, i) => ({ positive: { prompt: o, response: HAPPY[i] }, negative: { prompt: o, response: SAD[i] } }));
}

/**
 * The same pairs with the mood sentence moved into the prompt, so that the poles differ before
 * the response starts (for extraction at the prompt's last token).
 */
export function storyPromptPairs(n = OPENINGS.length): ReturnType<typeof storyPairs> {
  return storyPairs(n).map((p) => ({
    positive: { prompt: p.positive.prompt + p.positive.response, response: ' The end.' },
    negative: { prompt: p.negative.prompt + p.negative.response, response: ' The end.' },
  }));
}
