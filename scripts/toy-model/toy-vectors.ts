// Remakes the built-in toy vectors the server ships (models/toy-vectors/{cheerful,sycophantic,pirate}.gguf):
//   npm run build:toy-model && node dist/toy-model/toy-vectors.js [--out models/toy-vectors]
// Per trait, the library's recipe with every option at its default, as a user would run it (and as
// acceptance.ts's runApiRecipe does): extractPersonaVector from the trait's spec (its two system
// prompts and a dozen training questions, lib/toy/spec.ts), which records the coefficient, blocks
// and positions its sweep recommends; then calibrateCap on the spec's questions and
// withCapThresholds, which record the cap blocks, thresholds and positions.
import path from 'node:path';
import {
  Model, calibrateCap, extractPersonaVector, withCapThresholds, writeControlVector, type Context, type PersonaVector,
} from '../../dist/index';
import { TOY_MODEL, TOY_VECTORS_DIR } from '../../dist/server/toy-vectors';
import { toySpec } from '../../dist/toy/spec';
import { TRAIT_NAMES, type TraitName } from '../../dist/toy/traits';

/** One trait's vector by the library's recipe: extraction (with its sweep), then cap calibration. */
export async function makeToyVector(ctx: Context, trait: TraitName): Promise<PersonaVector> {
  const spec = toySpec(trait);
  const v = (await extractPersonaVector(ctx, spec)).vector;
  const cal = await calibrateCap(ctx, v, spec.extractionQuestions.map((q) => ({ messages: [{ role: 'user', content: q }] })));
  return withCapThresholds(v, cal);
}

export async function makeToyVectors(outDir: string, log: (line: string) => void = () => undefined): Promise<PersonaVector[]> {
  const model = await Model.load(TOY_MODEL);
  const ctx = await model.createContext({ contextSize: 512, threads: 1 });
  try {
    const out: PersonaVector[] = [];
    for (const trait of TRAIT_NAMES) {
      const v = await makeToyVector(ctx, trait);
      await writeControlVector(path.join(outDir, `${trait}.gguf`), v);
      const md = v.metadata;
      log(`${trait}: blocks ${md.recommendedBlocks?.join(',')}, coefficient ${md.coefficient}, positions ${md.positions}; ` +
        `cap at ${md.capBlocks?.join(',')} (${md.capThresholds?.map((x) => x.toFixed(3)).join(',')}), positions ${md.capPositions}`);
      out.push(v);
    }
    return out;
  } finally {
    await ctx.dispose();
    model.dispose();
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--out');
  const out = i >= 0 && args[i + 1] ? path.resolve(args[i + 1]!) : TOY_VECTORS_DIR;
  makeToyVectors(out, (s) => process.stderr.write(`${s}\n`)).then(() => undefined, (e) => {
    process.stderr.write(`${(e as { code?: string }).code ?? 'ERROR'}: ${(e as Error).message}\n`);
    process.exitCode = 1;
  });
}
