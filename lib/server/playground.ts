// The playground page (web/, built by Vite into dist/web) served at `/`. The folder is read once
// when the server starts and every file gets a route of its own, served from memory: no request
// path ever reaches the filesystem, so there is nothing to traverse, and the page loads nothing
// from anywhere else (its Content-Security-Policy allows only this server).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ApiError } from './errors';

/** dist/web, from lib/server (tests run the sources) and from dist/server alike. */
export const PLAYGROUND_DIR = path.resolve(__dirname, '..', '..', 'dist', 'web');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

// Styles inline are uPlot's (it sizes its canvas and legend through style attributes).
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
  + "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface StaticFile {
  body: Buffer;
  headers: Record<string, string>;
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(path.join(dir, e.name), rel)));
    else if (e.isFile()) out.push(rel);
  }
  return out;
}

/** The built page's files by URL path, or null when the page was not built. */
export async function loadPlayground(dir: string): Promise<Map<string, StaticFile> | null> {
  let names: string[];
  try {
    names = await listFiles(dir);
  } catch {
    return null;
  }
  if (!names.includes('index.html')) return null;
  const files = new Map<string, StaticFile>();
  for (const name of names) {
    const type = TYPES[path.extname(name).toLowerCase()];
    // Only plain names become routes (':' or '*' would be route syntax to Fastify).
    if (type === undefined || !/^[A-Za-z0-9._/-]+$/.test(name)) continue;
    const body = await fs.readFile(path.join(dir, name));
    // Vite names everything under assets/ by content hash: those never change under their name.
    const cache = name.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
    const headers: Record<string, string> = { 'content-type': type, 'cache-control': cache, 'x-content-type-options': 'nosniff' };
    if (name.endsWith('.html')) {
      headers['content-security-policy'] = CSP;
      headers['referrer-policy'] = 'no-referrer';
    }
    files.set(`/${name}`, { body, headers });
  }
  files.set('/', files.get('/index.html')!);
  return files;
}

/** Routes for the page's files; `/` explains how to build the page when it is missing. */
export function playgroundRoutes(dir: string = PLAYGROUND_DIR) {
  return async (app: FastifyInstance): Promise<void> => {
    const files = await loadPlayground(dir);
    if (files === null) {
      app.get('/', async () => {
        throw new ApiError(404, `the playground page is not built (no ${path.join(dir, 'index.html')}): run npm run build:web`, { code: 'playground_not_built' });
      });
      return;
    }
    for (const [url, file] of files) {
      app.get(url, async (_request, reply) => reply.headers(file.headers).send(file.body));
    }
  };
}
