import t from 'tap';
import { Model, extractPersonaVector, steerAdd, type Context, type PersonaVector } from '../../lib/index';
import { gpuLayers, requireModel, stories260K } from '../helpers/models';
import { storyPairs } from '../helpers/stories';

// A "happy" minus "sad" vector from contrasting story continuations, added to stories260K, must
// make happy words likelier as the next word and sad words less likely; subtracting it must do
// the opposite. A word's probability is the product of its tokens' probabilities (teacher
// forcing), each from Context.logits and a softmax written here.
const PROMPTS = ['Once upon a time, there was a little girl. She was very', 'One day, the boy felt', 'The dog was so', 'Tim looked at his mom and'];
const HAPPY_WORDS = [' happy', ' glad', ' smiled', ' laughed', ' excited'];
const SAD_WORDS = [' sad', ' cried', ' upset', ' scared', ' angry', ' alone'];
// Block 3 of 5, one gap's worth of the vector (coefficient 1 in raw units).
const BLOCK = 3;
const COEFFICIENT = 1;
const MARGIN = 0.25;

let model: Model;
let ctx: Context;
let vector: PersonaVector;

function logSoftmaxAt(row: ArrayLike<number>, id: number): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]);
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  return row[id] - max - Math.log(sum);
}

async function wordLogProb(prompt: string, word: string): Promise<number> {
  const p = model.tokenize(prompt);
  const full = model.tokenize(prompt + word);
  let s = 0;
  while (s < p.length && p[s] === full[s]) s++;
  const nv = model.info.vocabularySize;
  const r = await ctx.logits(full, { all: true });
  let lp = 0;
  for (let k = s; k < full.length; k++) lp += logSoftmaxAt(r.logits.subarray((k - 1) * nv, k * nv), full[k]);
  return lp;
}

/** Mean over the prompts of log P(word | prompt, steered) - log P(word | prompt). */
async function shift(word: string, coefficient: number): Promise<number> {
  let total = 0;
  for (const prompt of PROMPTS) {
    ctx.setSteering(null);
    const base = await wordLogProb(prompt, word);
    ctx.setSteering([steerAdd(vector, coefficient, { blocks: [BLOCK] })]);
    total += (await wordLogProb(prompt, word)) - base;
  }
  ctx.setSteering(null);
  return total / PROMPTS.length;
}

t.before(async () => {
  model = await Model.load(requireModel(stories260K), { gpuLayers });
  ctx = await model.createContext({ contextSize: 256, threads: 1 });
  vector = (await extractPersonaVector(ctx, { trait: 'happy', samples: storyPairs() })).vector;
});
t.teardown(async () => {
  await ctx.dispose();
  model.dispose();
});

t.test('adding the happy vector makes every happy word likelier and subtracting it makes each less likely', async (t) => {
  const rows: string[] = [];
  for (const w of HAPPY_WORDS) {
    const up = await shift(w, COEFFICIENT);
    const down = await shift(w, -COEFFICIENT);
    rows.push(`${w.trim()} ${up.toFixed(2)}/${down.toFixed(2)}`);
    t.ok(up > MARGIN, `${w}: +v changes log P by ${up.toFixed(3)}`);
    t.ok(down < -MARGIN, `${w}: -v changes log P by ${down.toFixed(3)}`);
  }
  t.comment(`happy words, mean change of log P (nats) with +v/-v at block ${BLOCK}: ${rows.join(', ')}`);
});

t.test('the same vector moves most sad words the other way', async (t) => {
  const rows: string[] = [];
  let agree = 0;
  for (const w of SAD_WORDS) {
    const up = await shift(w, COEFFICIENT);
    const down = await shift(w, -COEFFICIENT);
    rows.push(`${w.trim()} ${up.toFixed(2)}/${down.toFixed(2)}`);
    if (up < -0.1 && down > 0.1) agree++;
  }
  t.comment(`sad words, mean change of log P (nats) with +v/-v at block ${BLOCK}: ${rows.join(', ')}`);
  t.ok(agree >= 5, `${agree} of ${SAD_WORDS.length} sad words fall with +v and rise with -v`);
});
