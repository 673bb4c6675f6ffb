#!/usr/bin/env node
// Writes dist/index.mjs (the ESM entry re-exports the CommonJS build, so `import` and `require`
// share one module instance and one native addon) and marks the CLI entry executable.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const require = createRequire(import.meta.url);
const names = Object.keys(require(path.join(dist, 'index.js'))).filter((n) => n !== 'default' && n !== '__esModule');
const body = `import cjs from './index.js';\nexport const { ${names.join(', ')} } = cjs;\nexport default cjs;\n`;
fs.writeFileSync(path.join(dist, 'index.mjs'), body);

// The command-line entry runs as a program (package.json "bin", and links to it in a project's
// node_modules/.bin): tsc writes it without the executable bit.
fs.chmodSync(path.join(dist, 'cli', 'main.js'), 0o755);
