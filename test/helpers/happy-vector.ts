// A happy-story vector extracted from stories260K and written as a control-vector file, shared by
// the CLI tests that pass it to --add / --clamp / --monitor.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Model, extractPersonaVector, writeControlVector, type Context, type PersonaVector } from '../../lib/index';
import { requireBuiltCli } from './cli';
import { requireModel, stories260K } from './models';
import { storyPairs } from './stories';

export interface HappyVectorFixture { dir: string; file: string; model: Model; ctx: Context; vector: PersonaVector }

export async function happyVectorFixture(): Promise<HappyVectorFixture> {
  requireModel(stories260K);
  requireBuiltCli();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'persona-cli-'));
  const model = await Model.load(stories260K, { gpuLayers: 0 });
  const ctx = await model.createContext({ contextSize: 256, threads: 1 });
  const vector = (await extractPersonaVector(ctx, { trait: 'happy', samples: storyPairs() })).vector;
  const file = path.join(dir, 'happy.gguf');
  await writeControlVector(file, vector);
  return { dir, file, model, ctx, vector };
}

export async function disposeHappyVectorFixture(f: HappyVectorFixture): Promise<void> {
  await f.ctx.dispose();
  f.model.dispose();
  fs.rmSync(f.dir, { recursive: true, force: true });
}
