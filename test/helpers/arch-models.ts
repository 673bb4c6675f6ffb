// The architecture matrix's models: tiny random-weight GGUFs that test/native/make_models.cpp
// writes (llama.cpp derives every tensor from the metadata in test/native/arch_models.hpp). They
// are generated on first use into an ignored folder next to the generator and reused while the
// specs are unchanged (models.json carries a stamp of them).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { requireModel, root, stories260K } from './models';

export interface ArchModel {
  name: string;
  file: string;
  arch: string;
  kind: string;
  weights: string;
  blocks: number;
  embd: number;
  /** hooked: every block steers, captures and monitors; refused: every block is refused; load-error: refused at load. */
  expect: 'hooked' | 'refused' | 'load-error';
}

export function archModels(): { dir: string; models: ArchModel[] } {
  const bin = ['build', 'build-native-tests'].map((d) => path.join(root, d, 'test', 'native', 'persona_steer_make_models'))
    .find((f) => fs.existsSync(f));
  if (!bin) {
    throw new Error('test/native/make_models.cpp is not built: run `npm run build:native` in a development checkout ' +
      '(it builds the native test programs unless PERSONA_STEER_NATIVE_TESTS=0)');
  }
  const dir = path.join(path.dirname(bin), 'arch-models');
  // A dynamically loaded build keeps its backend libraries beside the addon (<build>/Release), not
  // beside this program: tell it where, as scripts/run-tests.mjs does for the native group.
  const backendDir = path.join(path.dirname(bin), '..', '..', 'Release');
  const env = { ...process.env, PERSONA_STEER_BACKEND_DIR: process.env.PERSONA_STEER_BACKEND_DIR || backendDir };
  const r = spawnSync(bin, [dir, requireModel(stories260K)], { encoding: 'utf8', timeout: 600_000, env });
  if (r.status !== 0) throw new Error(`persona_steer_make_models failed (${r.status}): ${r.stderr}`);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'models.json'), 'utf8')) as { models: ArchModel[] };
  return { dir, models: manifest.models };
}
