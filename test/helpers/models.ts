// Paths of the small real models the tests use (../shared/models from the project root).
import fs from 'node:fs';
import path from 'node:path';

export const root = path.resolve(__dirname, '..', '..');
export const sharedModels = process.env.PERSONA_STEER_MODELS ?? path.resolve(root, '..', 'shared', 'models');
export const stories260K = path.join(sharedModels, 'stories260K.gguf');

export function requireModel(file: string): string {
  if (!fs.existsSync(file)) {
    throw new Error(`test model missing: ${file} (set PERSONA_STEER_MODELS to the folder holding it)`);
  }
  return file;
}

/** Every block offloaded when the GPU group runs, none otherwise. */
export const gpuLayers = process.env.PERSONA_STEER_GPU === '1' ? -1 : 0;
