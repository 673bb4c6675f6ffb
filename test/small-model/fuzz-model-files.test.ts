import t from 'tap';
import os from 'node:os';
import path from 'node:path';
import { fuzzReport, runModelFuzz } from '../helpers/model-fuzz-runner';

// The model-file fuzzer (npm run fuzz:models runs the full one): mutated copies of the bundled models (and of stories260K with a
// BPE vocabulary), each loaded in a child process and, when it loads, tokenized, decoded with
// steering, capture and a monitor. Every case must end as ERR_MODEL_LOAD with a reason, or as a
// model that works (typed errors only); never a signal, an exit, a hang or an untyped error.
// `npm run fuzz:models` runs 10,000 cases (docs/errors.md); CI runs the first PERSONA_STEER_FUZZ_CASES.
const cases = Number(process.env.PERSONA_STEER_FUZZ_CASES ?? 2000);
const seed = Number(process.env.PERSONA_STEER_FUZZ_SEED ?? 21);
const start = Number(process.env.PERSONA_STEER_FUZZ_START ?? 0);
const keepDir = process.env.PERSONA_STEER_FUZZ_KEEP ?? path.join(os.tmpdir(), 'persona-steer-fuzz-failures');

t.test(`${cases} mutated model files end as ERR_MODEL_LOAD with a reason or as working models, never a crash or a hang`, async (t) => {
  const run = await runModelFuzz({ seed, cases, start, shards: Math.min(2, os.availableParallelism()), keepDir });
  const report = fuzzReport(run);
  t.comment(report);
  t.equal(run.cases, cases, 'every case ran');
  t.same(run.deaths.map((f) => f.i), [], 'no case killed its process');
  t.same(run.hangs.map((f) => f.i), [], 'no case hung');
  t.same(run.untyped.map((f) => f.i), [], 'every error was a PersonaSteerError');
  t.same(run.silent.map((f) => f.i), [], "every ERR_MODEL_LOAD carries llama.cpp's or the pre-flight's reason");
  // The mutations reach both sides: refusals, and models that load and run.
  t.ok((run.outcomes.ERR_MODEL_LOAD ?? 0) >= cases * 0.3, `at least 30% refused (${run.outcomes.ERR_MODEL_LOAD})`);
  t.ok((run.outcomes['loaded and used'] ?? 0) >= cases * 0.1, `at least 10% loaded and ran (${run.outcomes['loaded and used']})`);
});
