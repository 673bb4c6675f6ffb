import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Model } from '../../lib/index';
import { requireModel, stories260K } from '../helpers/models';

// The documented stance on model files changed while loaded (docs/errors.md, "Files changed under
// a loaded model"): with useMmap: false the file is read at load and nothing done to it later
// matters; with the default mapping, replacing the file by a rename or deleting it does not matter
// either. The oracle is the same greedy generation before the change.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-file-changes-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const PROMPT = 'Once upon a time';

async function generate(m: Model): Promise<string> {
  const ctx = await m.createContext({ contextSize: 128, threads: 1 });
  try {
    return (await ctx.complete(PROMPT, { greedy: true, maxTokens: 24 })).text;
  } finally {
    await ctx.dispose();
  }
}

const CHANGES: [string, boolean, (p: string) => void][] = [
  ['truncated to 1000 bytes', false, (p) => fs.truncateSync(p, 1000)],
  ['overwritten in place with zeros', false, (p) => { const fd = fs.openSync(p, 'r+'); fs.writeSync(fd, Buffer.alloc(fs.fstatSync(fd).size)); fs.closeSync(fd); }],
  ['replaced by another file through a rename', true, (p) => { fs.writeFileSync(`${p}.new`, Buffer.alloc(4096, 7)); fs.renameSync(`${p}.new`, p); }],
  ['deleted', true, (p) => fs.rmSync(p)],
];

for (const [what, mmap, change] of CHANGES) {
  t.test(`a model loaded with useMmap: ${mmap} keeps working after its file is ${what}`, async (t) => {
    const file = path.join(dir, `${what.replace(/\W+/g, '-')}.gguf`);
    fs.copyFileSync(requireModel(stories260K), file);
    const m = await Model.load(file, { gpuLayers: 0, useMmap: mmap });
    const before = await generate(m);
    change(file);
    t.equal(await generate(m), before, 'the same output as before the change');
    m.dispose();
  });
}
