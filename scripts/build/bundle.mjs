#!/usr/bin/env node
// Second build step (after tsc, part of `npm run build`): esbuild bundles of
// the two command-line entry points, which scripts/bin/ctdb-bridge.cjs runs
// when present (dist/ from tsc stays the library and the fallback).
//
// - dist/scripts/cli/legacy/fast-main.bundle.cjs: the one-shot `legacy
//   <command>` path in one file. Node then reads one module instead of ~40,
//   which is most of a one-shot command's start-up time. CommonJS, as the
//   bin is, so such a command never starts the ES module loader.
// - dist/bundle/main.mjs (+ chunks): the full CLI, one chunk per lazily
//   loaded command group. A daemon (transportd, clusterd, failoverd) loads a
//   few chunks instead of ~80 modules: less loader work at start (the loader's
//   own hot functions get optimised, paging in compiler code) and less heap.
//
// npm packages stay external (resolved from node_modules at run time, as
// from dist/): they are loaded lazily or are needed as they are (pino).
//
//   node scripts/build/bundle.mjs [--out DIR]   (default: dist)

import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({ options: { out: { type: 'string', default: join(root, 'dist') } } });
const out = resolve(values.out);

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
  // Same semantics as tsc's output (class fields as assignments, no renaming of what error names show).
  keepNames: true,
};

await rm(join(out, 'bundle'), { recursive: true, force: true });
await Promise.all([
  build({
    ...common,
    format: 'cjs',
    entryPoints: [join(root, 'scripts/cli/legacy/fast-main.ts')],
    outfile: join(out, 'scripts/cli/legacy/fast-main.bundle.cjs'),
    // The sources find package.json and load npm packages relative to
    // import.meta.url, which CommonJS lacks: the bundle's own file URL instead.
    define: { 'import.meta.url': '__bundleFileUrl' },
    banner: { js: 'var __bundleFileUrl = require("node:url").pathToFileURL(__filename).href;' },
  }),
  build({
    ...common,
    entryPoints: { main: join(root, 'scripts/cli/main.ts') },
    outdir: join(out, 'bundle'),
    outExtension: { '.js': '.mjs' },
    splitting: true,
    chunkNames: 'chunk-[hash]',
  }),
]);
