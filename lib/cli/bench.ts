// persona-steer bench: hands over to the benchmark runner (dist/bench/runner.js) when it is
// installed; the benchmarks themselves live in bench/.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCodes, PersonaSteerError } from '../errors';
import type { Command } from './command';

export function benchRunnerPath(): string {
  return path.resolve(__dirname, '..', 'bench', 'runner.js');
}

/** What to do when the runner is not built: the exact command where the sources are, else where to get them. */
export function benchMissing(runner: string): string {
  const root = path.resolve(__dirname, '..', '..');
  if (fs.existsSync(path.join(root, 'bench', 'runner.ts'))) {
    return `the benchmark runner is not built (no ${runner}); build it with: cd ${JSON.stringify(root)} && npm run build:bench ` +
      '(or run npm run bench there, which builds and runs it)';
  }
  return `the benchmark runner is not installed (no ${runner}): the benchmarks are not part of the npm package; ` +
    'they run from a checkout of the persona-steer repository (npm install, then npm run build:bench)';
}

export const bench: Command = {
  name: 'bench',
  summary: 'run the benchmarks (delegates to dist/bench/runner.js)',
  usage: `persona-steer bench [--] [ARGS...]

  Runs node dist/bench/runner.js ARGS... with this terminal; its exit status is ours
  (persona-steer bench --help shows the runner's own options, --list its cases; a leading --
  is optional). The runner is built from bench/ by npm run build:bench in a checkout of the
  repository (the npm package does not ship it); without it: ERR_UNAVAILABLE, saying how to get it.
`,
  async run(rawArgv) {
    // "persona-steer bench -- --help": the -- only separates our arguments from the runner's.
    const argv = rawArgv[0] === '--' ? rawArgv.slice(1) : rawArgv;
    const runner = benchRunnerPath();
    const exists = fs.existsSync(runner);
    if (!exists && (argv.includes('--help') || argv.includes('-h'))) {
      process.stdout.write(this.usage);
      return 0;
    }
    if (!exists) throw new PersonaSteerError(ErrorCodes.UNAVAILABLE, benchMissing(runner));
    return new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, [runner, ...argv], { stdio: 'inherit' });
      child.on('error', (e) => reject(new PersonaSteerError(ErrorCodes.UNAVAILABLE, `cannot start the benchmark runner: ${e.message}`)));
      child.on('exit', (code, sig) => resolve(code ?? (sig ? 128 + 2 : 1)));
    });
  },
};
