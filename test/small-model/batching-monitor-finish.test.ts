// Regression (found by the server's concurrency test): when one sequence of a batch finishes, the
// others' monitor values of that same step must still be read with the column layout the step was
// decoded with. The oracle is each generation alone on a one-sequence context.
import path from 'node:path';
import t from 'tap';
import { Model, readControlVector, type GenerateOptions } from '../../lib/index';
import { root } from '../helpers/models';

t.test('a sequence finishing mid-batch leaves the other sequences\' monitor values of that step intact', async (t) => {
  const model = await Model.load(path.join(root, 'models', 'toy-persona.gguf'));
  t.teardown(() => model.dispose());
  const read = (n: string) => readControlVector(path.join(root, 'models', 'toy-vectors', `${n}.gguf`));
  const [pirate, syco, cheer] = [await read('pirate'), await read('sycophantic'), await read('cheerful')];
  const chat = (q: string) => ({ messages: [{ role: 'system', content: 'You are an assistant.' }, { role: 'user', content: q }] });
  const jobs: [ReturnType<typeof chat>, GenerateOptions][] = [
    [chat('Is it true that snow is black?'), { greedy: true, maxTokens: 10, stopAtEog: false, steer: null, monitor: [{ name: 'p', vector: pirate, blocks: [3] }] }],
    [chat('Is it true that the sun is cold?'), { greedy: true, maxTokens: 14, stopAtEog: false, steer: null, monitor: [{ name: 's', vector: syco, blocks: [3] }] }],
    [chat('I think cats are fish. Right?'), { greedy: true, maxTokens: 14, stopAtEog: false, steer: null, monitor: [{ name: 'c', vector: cheer, blocks: [1] }] }],
  ];
  const alone = await model.createContext({ contextSize: 512, threads: 1 });
  const want = [];
  for (const [p, o] of jobs) want.push(await alone.complete(p, o));
  await alone.dispose();
  const ctx = await model.createContext({ contextSize: 768, threads: 1, sequences: 3 });
  const got = await Promise.all(jobs.map(([p, o]) => ctx.complete(p, o)));
  await ctx.dispose();
  got.forEach((r, i) => {
    t.equal(r.text, want[i]!.text, `job ${i}: same text`);
    const worst = Math.max(...r.projections.map((ps, k) => Math.abs(ps[0]!.value - want[i]!.projections[k]![0]!.value)));
    t.ok(worst < 1e-2, `job ${i}: every token's projection as alone (largest difference ${worst.toExponential(2)})`);
  });
});
