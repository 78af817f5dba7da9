#!/usr/bin/env node
// Entry point: runs the compiled CLI from dist/ (`npm run build`, part of `npm ci`).
import { existsSync } from 'node:fs';

const main = new URL('../../dist/scripts/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('ctdb-bridge: the build is missing (dist/); run `npm run build` in the package directory\n');
  process.exit(1);
}
await import(main.href);
