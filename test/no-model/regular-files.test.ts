import t from 'tap';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Model, PersonaSteerError, PersonaVector, TRAIT_SPEC_LIMITS, modelFileHash, readControlVector, readTraitSpec, writeControlVector } from '../../lib/index';
import { MAX_INPUT_BYTES, MAX_JUDGE_BYTES, loadJudge, readJson, readJsonLines, writeText } from '../../lib/cli/files';
import { native } from '../../lib/native';
import { kindOf, makeSpecialFiles, releaseFifo, settlesWithin } from '../helpers/special-files';
import { requireModel, stories260K } from '../helpers/models';

// Every reader refuses a FIFO (without blocking: a FIFO would wait forever for a writer), a device
// (/dev/zero is endless), a directory and a file over its size limit, before reading a byte, with
// its own error code and a message that says what the path is. Every writer refuses to replace
// anything but a regular file, and leaves it as it was.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-regular-files-'));
const sf = makeSpecialFiles(dir);
t.teardown(() => { releaseFifo(sf.fifo); fs.rmSync(dir, { recursive: true, force: true }); });

interface Reader { name: string; code: string; limit: number | null; read: (p: string) => Promise<unknown> }
const READERS: Reader[] = [
  { name: 'readControlVector', code: 'ERR_BAD_FILE', limit: 512 * 1024 * 1024, read: (p) => readControlVector(p) },
  { name: 'readTraitSpec', code: 'ERR_BAD_SPEC', limit: TRAIT_SPEC_LIMITS.maxBytes, read: (p) => readTraitSpec(p) },
  { name: 'modelFileHash', code: 'ERR_MODEL_LOAD', limit: null, read: (p) => modelFileHash(p) },
  { name: 'Model.load', code: 'ERR_MODEL_LOAD', limit: null, read: (p) => Model.load(p, { gpuLayers: 0 }) },
  { name: 'CLI readJson (--pairs)', code: 'ERR_BAD_FILE', limit: MAX_INPUT_BYTES, read: async (p) => readJson(p) },
  { name: 'CLI readJsonLines (--dataset)', code: 'ERR_BAD_FILE', limit: MAX_INPUT_BYTES, read: async (p) => readJsonLines(p) },
  { name: 'CLI loadJudge (--judge)', code: 'ERR_BAD_FILE', limit: MAX_JUDGE_BYTES, read: (p) => loadJudge(p) },
];

const KINDS: [string, () => string, RegExp][] = [
  ['a FIFO', () => sf.fifo, /is a FIFO \(named pipe\), not a regular file/],
  ['a device', () => sf.device, /is a character device, not a regular file/],
  ['/dev/zero', () => '/dev/zero', /is a character device, not a regular file/],
  ['a directory', () => sf.directory, /is a directory, not a regular file/],
  ['a link to a device', () => sf.linkToDevice, /is a character device, not a regular file/],
];

for (const r of READERS) {
  t.test(`${r.name} refuses a FIFO, a device, /dev/zero, a directory and a link to a device, without blocking`, async (t) => {
    for (const [what, p, message] of KINDS) {
      const out = await settlesWithin(r.read(p()).then(() => 'resolved', (e: unknown) => e), 10_000, sf.fifo);
      if (out && typeof out === 'object' && 'hung' in out) { t.fail(`${what}: still pending after 10 s`); continue; }
      t.ok(out instanceof PersonaSteerError, `${what}: a PersonaSteerError`);
      t.equal((out as PersonaSteerError).code, r.code, `${what}: ${r.code}`);
      t.match((out as Error).message, message, `${what}: says what it is`);
    }
  });

  if (r.limit !== null) {
    t.test(`${r.name} refuses a file one byte over its limit before reading it`, async (t) => {
      const big = sf.sparse(`big-${r.name.replace(/\W+/g, '-')}`, r.limit! + 1);
      const before = process.memoryUsage().arrayBuffers;
      const err = await r.read(big).then(() => null, (e: unknown) => e);
      t.equal((err as PersonaSteerError)?.code, r.code);
      t.match((err as Error).message, new RegExp(`is ${r.limit! + 1} bytes, more than (the limit of |options\\.maxBytes \\()${r.limit}`));
      t.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024, 'nothing of the size was read');
      fs.rmSync(big);
    });
  }
}

t.test('model files have no size limit: a 100 GiB model file is hashed from its ends and refused as no GGUF', async (t) => {
  const huge = sf.sparse('huge.gguf', 100 * 2 ** 30);
  const zeros = Buffer.alloc(1 << 20);
  const want = `sha256-ends:${createHash('sha256').update(`${100 * 2 ** 30}\n`).update(zeros).update(zeros).digest('hex')}`;
  t.equal(await modelFileHash(huge), want, 'the documented hash, computed here from its definition');
  await t.rejects(Model.load(huge, { gpuLayers: 0 }), { code: 'ERR_MODEL_LOAD', message: /could not load a model from .*huge\.gguf: .+/ });
  fs.rmSync(huge);
});

t.test('the native loader refuses a FIFO on its own descriptor (a path that became a FIFO after the JavaScript checks)', async (t) => {
  const job = native().loadModel(sf.fifo, { gpuLayers: 0, useMmap: true, vocabOnly: false, checkTensors: false });
  const out = await settlesWithin(job.promise.then(() => 'resolved', (e: unknown) => e), 10_000, sf.fifo);
  t.notOk(out && typeof out === 'object' && 'hung' in out, 'settles');
  t.equal((out as { code?: string }).code, 'ERR_MODEL_LOAD');
  t.match((out as Error).message, /could not load a model from .*fifo: it is a FIFO \(named pipe\), not a regular file/);
});

t.test('a model path flipped to a FIFO while Model.load runs gives ERR_MODEL_LOAD, never a hang', async (t) => {
  const model = requireModel(stories260K);
  for (let k = 0; k < 10; k++) {
    const p = path.join(dir, `flip-${k}.gguf`);
    fs.copyFileSync(model, p);
    const fifo = `${p}.fifo`;
    execFileSync('mkfifo', [fifo]);
    const load = Model.load(p, { gpuLayers: 0 });
    // Model.load has returned its promise; the checks and the native open happen from here on.
    // rename() swaps the FIFO in at once: the path is never missing.
    fs.renameSync(fifo, p);
    const out = await settlesWithin(load.then((m) => { m.dispose(); return 'loaded'; }, (e: unknown) => e), 10_000, p);
    t.notOk(out && typeof out === 'object' && 'hung' in out, `flip ${k}: settles`);
    // Either the file was opened before the flip (it loads: the descriptor is the file's) or after (refused).
    if (out !== 'loaded') t.match(out, { code: 'ERR_MODEL_LOAD', message: /FIFO/ }, `flip ${k}: refused as a FIFO (${(out as Error)?.message})`);
    else t.pass(`flip ${k}: loaded from the descriptor opened before the flip`);
  }
});

const vector = () => PersonaVector.fromBlocks(new Map([[1, Float32Array.from([1, 2, 3, 4])]]), { trait: 'x', modelHint: 'llama' });
interface Writer { name: string; code: string; write: (p: string) => Promise<void> }
const WRITERS: Writer[] = [
  { name: 'writeControlVector', code: 'ERR_BAD_FILE', write: (p) => writeControlVector(p, vector()) },
  { name: 'CLI writeText (--out, --plot)', code: 'ERR_BAD_FILE', write: async (p) => writeText(p, '<svg/>') },
];

for (const w of WRITERS) {
  t.test(`${w.name} replaces no FIFO, device, directory or link to a device, and leaves each as it was`, async (t) => {
    const dangling = path.join(dir, `dangling-${w.name.replace(/\W+/g, '-')}`);
    fs.symlinkSync(path.join(dir, 'nowhere', 'x'), dangling);
    const targets: [string, string, RegExp][] = [
      ['a FIFO', sf.fifo, /is a FIFO \(named pipe\); only a regular file is replaced/],
      ['a directory', sf.directory, /is a directory; only a regular file is replaced/],
      ['a link to a device', sf.linkToDevice, /is a symbolic link to a character device; only a regular file is replaced/],
      ['a dangling link', dangling, /is a symbolic link to a missing file/],
      // Our own device node only: a writer that went wrong must not replace the machine's /dev/null.
      ...(sf.ownDevice ? [['a device', sf.device, /is a character device; only a regular file is replaced/] as [string, string, RegExp]] : []),
    ];
    if (!sf.ownDevice) t.comment('mknod is not allowed here: the device case runs through the link to /dev/null only');
    for (const [what, p, message] of targets) {
      const before = kindOf(p);
      const out = await settlesWithin(w.write(p).then(() => 'written', (e: unknown) => e), 10_000, sf.fifo);
      t.notOk(out && typeof out === 'object' && 'hung' in out, `${what}: settles`);
      t.equal((out as PersonaSteerError).code, w.code, `${what}: ${w.code}`);
      t.match((out as Error).message, message, `${what}: says why`);
      t.equal(kindOf(p), before, `${what}: still ${before}`);
    }
    t.same(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left behind');
  });

  t.test(`${w.name} writes through a link to a regular file, which stays a link`, async (t) => {
    const real = path.join(dir, `real-${w.name.replace(/\W+/g, '-')}`);
    const link = `${real}.link`;
    fs.writeFileSync(real, 'old');
    fs.symlinkSync(real, link);
    await w.write(link);
    t.equal(kindOf(link), 'link');
    t.not(fs.readFileSync(real, 'utf8'), 'old', 'the target has the new content');
    await w.write(real);
    t.equal(kindOf(real), 'file', 'a regular file is replaced by a regular file');
  });
}
