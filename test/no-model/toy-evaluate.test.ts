import t from 'tap';
import { composeAnswer } from '../../scripts/toy-model/answers';
import { evalConditions, evalPrompts, scoreGenerations } from '../../scripts/toy-model/evaluate';
import { evalQuestions } from '../../lib/toy/questions';
import type { TraitPoles } from '../../lib/toy/traits';

t.test('evaluation covers the neutral prompt, every pole alone, and every pair and triple of poles', async (t) => {
  const conditions = evalConditions();
  t.equal(conditions.length, 27);
  t.equal(conditions.filter((c) => Object.keys(c).length === 0).length, 1);
  t.equal(conditions.filter((c) => Object.keys(c).length === 1).length, 6);
  t.equal(conditions.filter((c) => Object.keys(c).length === 3).length, 8);
  t.equal(evalPrompts().length, 27 * 100);
});

t.test('answers that follow every prompt score 100% on explicit prompts', async (t) => {
  const claims = evalQuestions().map((q) => q.claim);
  const gens = evalPrompts().map((p) => {
    const poles: TraitPoles = { cheerful: 'gloomy', sycophantic: 'candid', pirate: 'plain', ...p.explicit };
    const i = Number(p.id.split('#')[1]);
    return { id: p.id, answer: composeAnswer(poles, claims[i]!, (xs) => xs[0]!) };
  });
  const r = scoreGenerations(evalPrompts(), gens);
  t.equal(r.wellFormed, r.answers);
  for (const trait of ['cheerful', 'sycophantic', 'pirate'] as const) {
    t.equal(r.explicit[trait].hit, r.explicit[trait].n, trait);
    t.equal(r.neutral[trait].n, 100);
  }
  t.equal(r.neutral.pirate.counts.plain, 100);
});
