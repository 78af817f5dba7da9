#!/usr/bin/env node
// Entry point: runs the compiled CLI from dist/ (`npm run build`, part of `npm ci`).
import { existsSync } from 'node:fs';

const main = new URL('../../dist/scripts/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('ctdb-bridge: the build is missing (dist/); run `npm run build` in the package directory\n');
  process.exit(1);
}
// One-shot `legacy <command>` and `--version` start on a lean path (no
// commander, pino, ...); whatever it does not understand goes to the full CLI.
const argv = process.argv.slice(2);
let handled = false;
if (argv[0] === 'legacy' || argv[0] === '--version' || argv[0] === '-V') {
  const { runFast } = await import(new URL('../../dist/scripts/cli/legacy/fast-main.js', import.meta.url).href);
  handled = await runFast(argv);
}
if (!handled) await import(main.href);
