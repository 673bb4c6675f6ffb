// Running the built CLI (dist/cli/main.js) as a user would, for the cli-*.test.ts files.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { root } from './models';

export const CLI = path.join(root, 'dist', 'cli', 'main.js');

/** Fails early when dist is missing or older than the CLI and persona sources it is built from. */
export function requireBuiltCli(): void {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npx tsc -p tsconfig.json first`);
  for (const dir of ['cli', 'persona']) {
    for (const f of fs.readdirSync(path.join(root, 'lib', dir)).filter((x) => x.endsWith('.ts'))) {
      const js = path.join(root, 'dist', dir, f.replace(/\.ts$/, '.js'));
      if (!fs.existsSync(js) || fs.statSync(js).mtimeMs < fs.statSync(path.join(root, 'lib', dir, f)).mtimeMs) {
        throw new Error(`dist is older than lib/${dir}/${f}: run npx tsc -p tsconfig.json first`);
      }
    }
  }
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], options: { input?: string; cwd?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8', input: options.input ?? '', cwd: options.cwd ?? root, timeout: 120_000, env: { ...process.env, PERSONA_STEER_DEBUG: '' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The JSON the command printed on stdout (one object). */
export function json<T = Record<string, unknown>>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (status ${r.status}): ${r.stdout.slice(0, 300)} / stderr: ${r.stderr.slice(0, 300)}`);
  }
}
