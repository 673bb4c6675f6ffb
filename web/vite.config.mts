// Builds the playground page (web/) into dist/web, which `persona-steer serve` serves at `/`.
// Everything the page needs is bundled: it loads nothing from anywhere but its own server.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: './',
  publicDir: 'public',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // The page is small; one script and one stylesheet keep the server's file list short.
    cssCodeSplit: false,
    sourcemap: false,
    reportCompressedSize: false,
  },
});
