#!/usr/bin/env node
// Entry point: runs the compiled CLI from dist/ (`npm run build`, part of `npm ci`).
// The build's esbuild bundles (scripts/build/bundle.mjs) are used when present:
// same code, fewer modules to load; dist/'s modules are the fallback.
import { existsSync } from 'node:fs';

const dist = (path) => new URL(`../../dist/${path}`, import.meta.url);
const firstPresent = (...paths) => paths.map(dist).find((url) => existsSync(url));

const main = firstPresent('bundle/main.mjs', 'scripts/cli/main.js');
if (!main) {
  process.stderr.write('ctdb-bridge: the build is missing (dist/); run `npm run build` in the package directory\n');
  process.exit(1);
}
// One-shot `legacy <command>` and `--version` start on a lean path (no
// commander, pino, ...); whatever it does not understand goes to the full CLI.
const argv = process.argv.slice(2);
let handled = false;
if (argv[0] === 'legacy' || argv[0] === '--version' || argv[0] === '-V') {
  const fast = firstPresent('scripts/cli/legacy/fast-main.bundle.mjs', 'scripts/cli/legacy/fast-main.js');
  if (fast) handled = await (await import(fast.href)).runFast(argv);
}
if (!handled) await import(main.href);
