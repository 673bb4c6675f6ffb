import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Model, extractPersonaVector, readControlVector, readGguf, steerAdd, writeControlVector, type Context } from '../../lib/index';
import { gpuLayers, requireModel, stories260K } from '../helpers/models';
import { storyPairs } from '../helpers/stories';

// An extracted vector written to a control-vector file and read back, applied once through
// llama.cpp's own control-vector path (llama_set_adapter_cvec) and once through our in-graph
// add, must pick the same tokens.
const PROMPTS = ['Once upon a time', 'Lily and her mom went to the store.', 'The dog was so'];
const BLOCKS = [1, 2, 3, 4];
const SCALE = 0.5;

let model: Model;
let ours: Context;
let stock: Context;
let dir: string;

t.before(async () => {
  model = await Model.load(requireModel(stories260K), { gpuLayers });
  ours = await model.createContext({ contextSize: 256, threads: 1 });
  stock = await model.createContext({ contextSize: 256, threads: 1 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'persona-cvec-'));
});
t.teardown(async () => {
  await ours.dispose();
  await stock.dispose();
  model.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

t.test("the written file applied by llama.cpp's control vector gives the same greedy tokens as our add", async (t) => {
  const extracted = (await extractPersonaVector(ours, { trait: 'happy', samples: storyPairs() })).vector;
  const file = path.join(dir, 'happy.gguf');
  // llama.cpp's loader refuses direction.0, so the file holds blocks 1 and up.
  await writeControlVector(file, extracted.select(BLOCKS));
  const names = readGguf(fs.readFileSync(file)).tensors.map((x) => x.name);
  t.same(names, BLOCKS.map((b) => `direction.${b}`));
  const v = await readControlVector(file);
  await stock.setLlamaControlVector(v, { scale: SCALE, blocks: BLOCKS });
  ours.setSteering([steerAdd(v, SCALE, { blocks: BLOCKS })]);
  let differs = 0;
  for (const prompt of PROMPTS) {
    const a = await ours.complete(prompt, { greedy: true, maxTokens: 40, stopAtEog: false });
    const b = await stock.complete(prompt, { greedy: true, maxTokens: 40, stopAtEog: false });
    t.same(a.tokens, b.tokens, `${JSON.stringify(prompt)} -> ${JSON.stringify(a.text)}`);
    ours.setSteering(null);
    const plain = await ours.complete(prompt, { greedy: true, maxTokens: 40, stopAtEog: false });
    ours.setSteering([steerAdd(v, SCALE, { blocks: BLOCKS })]);
    if (plain.tokens.join() !== a.tokens.join()) differs++;
  }
  t.ok(differs > 0, `the vector changes the greedy text for ${differs} of ${PROMPTS.length} prompts`);
});
