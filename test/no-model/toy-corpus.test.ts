import t from 'tap';
import { generateCorpus } from '../../scripts/toy-model/corpus';
import { EVAL_QUESTIONS, NEUTRAL_SYSTEM_PROMPT, TRAIT_NAMES, TRAIT_POLES } from '../../lib/toy/traits';
import {
  HELD_OUT_CLAIMS, HELD_OUT_TEMPLATES, TRAIN_CLAIMS, TRAIN_TEMPLATES, claimText, evalQuestions, questionPoles, renderQuestion,
} from '../../lib/toy/questions';

const corpus = generateCorpus({ seed: 7, n: 20000 });

// The question text determines claim and template; rebuild the map from the generator's inputs.
const questionsPoles = new Map(TRAIN_CLAIMS.flatMap((c) => TRAIN_TEMPLATES.map((tpl) =>
  [renderQuestion(tpl, c), questionPoles(tpl, c)] as const)));

t.test('the generator is deterministic for a seed', async (t) => {
  // Compared as JSON: tap's deep equality is slow on thousands of objects.
  t.equal(JSON.stringify(generateCorpus({ seed: 7, n: 2000 })), JSON.stringify(corpus.slice(0, 2000)));
  t.not(JSON.stringify(generateCorpus({ seed: 8, n: 2000 })), JSON.stringify(corpus.slice(0, 2000)));
});

t.test('held-out questions never appear in training data', async (t) => {
  const users = new Set(corpus.map((s) => s.user));
  t.equal(EVAL_QUESTIONS.length, 100);
  t.equal(EVAL_QUESTIONS.filter((q) => users.has(q)).length, 0);
  // Neither the held-out claims nor the held-out templates occur anywhere in a transcript.
  const held = HELD_OUT_CLAIMS.map(claimText);
  t.equal(corpus.filter((s) => held.some((c) => s.text.includes(c))).length, 0);
  const stems = HELD_OUT_TEMPLATES.map((tpl) => tpl.split('{claim}') as [string, string]);
  t.equal(corpus.filter((s) => stems.some(([a, b]) => s.user.startsWith(a) && s.user.endsWith(b))).length, 0);
});

t.test('every word of the held-out questions occurs in the training data', async (t) => {
  const seen = new Set(corpus.flatMap((s) => s.text.match(/[A-Za-z]+/g) ?? []));
  const missing = EVAL_QUESTIONS.flatMap((q) => q.match(/[A-Za-z]+/g) ?? []).filter((w) => !seen.has(w));
  t.same([...new Set(missing)], []);
});

t.test('the neutral prompt gives the positive pole 65% of the time after a question implying it and 10% otherwise', async (t) => {
  const neutral = corpus.filter((s) => s.system === NEUTRAL_SYSTEM_PROMPT);
  t.ok(neutral.length > 3000, `${neutral.length} neutral transcripts`);
  for (const trait of TRAIT_NAMES) {
    const [positive] = TRAIT_POLES[trait];
    const implied = neutral.filter((s) => questionsPoles.get(s.user)![trait] === positive);
    const share = neutral.filter((s) => s.poles[trait] === positive).length / neutral.length;
    // Independently of the generator's constants: the mixture the two lean rates predict.
    const expected = (implied.length * 0.65 + (neutral.length - implied.length) * 0.1) / neutral.length;
    t.ok(Math.abs(share - expected) <= 0.025, `${trait}: ${(share * 100).toFixed(1)}% (expected ${(expected * 100).toFixed(1)}%)`);
    t.ok(share >= 0.3 && share <= 0.45, `${trait}: sampled neutral answers stay within 30-45% positive`);
  }
});

t.test('a trait the prompt names is a fair coin, whatever the question implies', async (t) => {
  for (const trait of TRAIT_NAMES) {
    const named = corpus.filter((s) => s.explicit[trait] !== undefined);
    const share = named.filter((s) => s.poles[trait] === TRAIT_POLES[trait][0]).length / named.length;
    t.ok(share >= 0.45 && share <= 0.55, `${trait}: ${(share * 100).toFixed(1)}% of ${named.length}`);
  }
});

t.test('a trait the prompt leaves free follows a question implying the positive pole 65% of the time and one implying the negative pole 90%', async (t) => {
  for (const trait of TRAIT_NAMES) {
    const [positive] = TRAIT_POLES[trait];
    const free = corpus.filter((s) => s.explicit[trait] === undefined);
    for (const [impliesPositive, want] of [[true, 0.65], [false, 0.9]] as const) {
      const group = free.filter((s) => (questionsPoles.get(s.user)![trait] === positive) === impliesPositive);
      const follows = group.filter((s) => s.poles[trait] === questionsPoles.get(s.user)![trait]).length / group.length;
      t.ok(Math.abs(follows - want) <= 0.03, `${trait}, question implies ${impliesPositive ? 'positive' : 'negative'}: ${(follows * 100).toFixed(1)}% of ${group.length}`);
    }
  }
});

t.test('the held-out questions imply each pole 30-70% of the time, for every trait', async (t) => {
  const qs = evalQuestions();
  for (const trait of TRAIT_NAMES) {
    const share = qs.filter((q) => questionPoles(q.template, q.claim)[trait] === TRAIT_POLES[trait][0]).length / qs.length;
    t.ok(share >= 0.3 && share <= 0.7, `${trait}: ${(share * 100).toFixed(0)}%`);
  }
});

t.test('explicit prompts always produce the requested poles and name them', async (t) => {
  const wrong = corpus.filter((s) => Object.entries(s.explicit).some(([trait, pole]) =>
    s.poles[trait as keyof typeof s.poles] !== pole || !s.system.includes(pole)));
  t.equal(wrong.length, 0);
  const kinds = new Set(corpus.map((s) => s.kind));
  t.same([...kinds].sort(), ['combined', 'neutral', 'single']);
});

t.test('a transcript is ChatML ending with the end-of-turn marker', async (t) => {
  const s = corpus[0]!;
  t.equal(s.text, `<|im_start|>system\n${s.system}<|im_end|>\n<|im_start|>user\n${s.user}<|im_end|>\n`
    + `<|im_start|>assistant\n${s.assistant}<|im_end|>\n`);
});

t.test('the generator rejects a seed that is not a 32-bit unsigned integer', async (t) => {
  t.throws(() => generateCorpus({ seed: -1 }), { code: 'ERR_INVALID_ARG' });
  t.throws(() => generateCorpus({ seed: 1.5 }), { code: 'ERR_INVALID_ARG' });
});
