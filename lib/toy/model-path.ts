// The toy persona model the package ships (models/toy-persona.gguf at the package root): the
// demo's, the server's built-in vectors' and the tests' default. Two folders down from the root
// both as source (lib/toy) and compiled (dist/toy).
import path from 'node:path';

export const DEFAULT_TOY_MODEL = path.resolve(__dirname, '..', '..', 'models', 'toy-persona.gguf');
