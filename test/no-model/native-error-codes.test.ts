import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ErrorCodes } from '../../lib/errors';

// Native code names error codes through native/error-codes.h, generated from lib/errors.ts's
// ErrorCodes: one source of truth for the codes that cross the boundary.

const root = path.resolve(__dirname, '..', '..');

t.test('native/error-codes.h is what scripts/gen-error-codes.mjs makes from ErrorCodes', async (t) => {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'gen-error-codes.mjs'), '--check'], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const header = fs.readFileSync(path.join(root, 'native', 'error-codes.h'), 'utf8');
  for (const [key, code] of Object.entries(ErrorCodes)) t.match(header, new RegExp(`\\b${key}\\s*= "${code}";`), key);
});

t.test('no native source writes an error code as a string literal', async (t) => {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(cpp|h)$/.test(e.name) && e.name !== 'error-codes.h') files.push(p);
    }
  };
  walk(path.join(root, 'native'));
  const literals = files.flatMap((f) => (fs.readFileSync(f, 'utf8').match(/"ERR_[A-Z_]+"/g) ?? []).map((m) => `${path.relative(root, f)}: ${m}`));
  t.same(literals, []);
});
