// Where the built-in toy model and its three trait vectors (cheerful, sycophantic, pirate) are,
// served when `persona-steer serve` gets no --model. The vectors are shipped as small
// control-vector files (models/toy-vectors/*.gguf, 3 KiB each), not made at start: the library's
// recipe takes several seconds per trait (extraction with its steering sweep, then cap
// calibration), and shipped files start the server at once and are the same for every user.
// scripts/toy-model/toy-vectors.ts remakes them with that recipe.
import path from 'node:path';
import { DEFAULT_TOY_MODEL } from '../toy/model-path';

export const TOY_MODEL = DEFAULT_TOY_MODEL;
export const TOY_VECTORS_DIR = path.resolve(__dirname, '..', '..', 'models', 'toy-vectors');
