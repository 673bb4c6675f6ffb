// Transpiles lib/**/*.ts to CommonJS JavaScript (transpile only) for scripts/leak-check.sh.
//   node transpile-lib.cjs <lib dir> <out dir>
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const [src, out] = process.argv.slice(2);
function walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
      const js = ts.transpileModule(fs.readFileSync(p, 'utf8'), {
        fileName: p,
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      }).outputText;
      const dest = path.join(out, path.relative(src, p)).replace(/\.ts$/, '.js');
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.writeFileSync(dest, js);
    }
  }
}
walk(src);
console.log(path.join(out, 'index.js'));
