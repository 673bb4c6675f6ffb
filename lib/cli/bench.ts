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

export const bench: Command = {
  name: 'bench',
  summary: 'run the benchmarks (delegates to dist/bench/runner.js)',
  usage: `persona-steer bench [ARGS...]

  Runs node dist/bench/runner.js ARGS... with this terminal; its exit status is ours
  (persona-steer bench --help shows the runner's own options, --list its cases).
  Fails with ERR_UNAVAILABLE when the runner is not installed.
`,
  async run(argv) {
    const runner = benchRunnerPath();
    const exists = fs.existsSync(runner);
    if (!exists && (argv.includes('--help') || argv.includes('-h'))) {
      process.stdout.write(this.usage);
      return 0;
    }
    if (!exists) {
      throw new PersonaSteerError(ErrorCodes.UNAVAILABLE, `the benchmark runner is not installed (no ${runner}); build it with npm run build:ts from a checkout that has bench/`);
    }
    return new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, [runner, ...argv], { stdio: 'inherit' });
      child.on('error', (e) => reject(new PersonaSteerError(ErrorCodes.UNAVAILABLE, `cannot start the benchmark runner: ${e.message}`)));
      child.on('exit', (code, sig) => resolve(code ?? (sig ? 128 + 2 : 1)));
    });
  },
};
