import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCodes } from '../../lib/index';

// docs/errors.md lists every error code with its meaning, when it is thrown and what to do.
const root = path.resolve(__dirname, '..', '..');
const doc = fs.readFileSync(path.join(root, 'docs', 'errors.md'), 'utf8');
const sections = new Map<string, string>();
for (const part of doc.split(/^### /m).slice(1)) {
  const [head, ...body] = part.split('\n');
  sections.set(head.trim(), body.join('\n'));
}

t.test('docs/errors.md has one section per error code, no more', async (t) => {
  t.same([...sections.keys()].sort(), Object.values(ErrorCodes).sort());
});

t.test('each section says what the code means, when it is thrown and what to do', async (t) => {
  for (const [code, body] of sections) {
    for (const part of ['**Meaning.**', '**Thrown when.**', '**What to do.**']) {
      const at = body.indexOf(part);
      t.ok(at >= 0, `${code}: ${part}`);
      const text = body.slice(at + part.length).split('**')[0].trim();
      t.ok(text.length >= 20, `${code}: ${part} has text`);
    }
  }
});

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : /\.(ts|cpp|h)$/.test(e.name) ? [p] : [];
  });
}

t.test('ERR_BUSY, documented as not thrown, is thrown nowhere', async (t) => {
  const throwers = [...sources(path.join(root, 'lib')), ...sources(path.join(root, 'native'))]
    // lib/errors.ts and its generated C++ copy define the codes; nothing else may use this one
    .filter((f) => !f.endsWith(path.join('lib', 'errors.ts')) && !f.endsWith(path.join('native', 'error-codes.h')))
    .filter((f) => /ErrorCodes\.BUSY|codes::BUSY|['"]ERR_BUSY['"]/.test(fs.readFileSync(f, 'utf8')));
  t.same(throwers, []);
});
