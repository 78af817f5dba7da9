#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
// Entry point: runs the compiled CLI from dist/ (`npm run build`, part of `npm ci`).
// The #! line drops NODE_EXTRA_CA_CERTS: Node parses that file at start-up,
// before any script runs (a system bundle: ~35 ms and ~2 MB per process), and
// ctdb-bridge never opens a TLS connection. (`env -S`: coreutils 8.30+.)
// CommonJS on purpose: a one-shot `legacy <command>` then never starts Node's
// ES module loader (about 10 ms of the ~35 ms it costs over bare node); the
// full CLI is ESM and is imported only when needed.
// The build's esbuild bundles (scripts/build/bundle.mjs) are used when present:
// same code, fewer modules to load; dist/'s modules are the fallback.
'use strict';
const { existsSync, readFileSync, renameSync, statSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname, join } = require('node:path');
const { pathToFileURL } = require('node:url');
const vm = require('node:vm');

const dist = (path) => join(__dirname, '..', '..', 'dist', path);
const firstPresent = (...paths) => paths.map(dist).find((file) => existsSync(file));

/**
 * require() for the one-shot bundle, with V8's code cache kept beside it
 * (`<bundle>.v8cache`): compiling the bundle's functions is another ~9 ms
 * of a one-shot command. The cache is written after the first command that
 * runs without one (so it holds what a command compiles, not just the top
 * level), and again when V8 rejects it (another Node). V8 checks only the
 * source's length, so the cache starts with the bundle's size and mtime.
 * Writing is best effort: a read-only install just compiles every time.
 */
function requireWithCodeCache(file) {
  const source = readFileSync(file, 'utf8');
  const { size, mtimeMs } = statSync(file);
  const stamp = Buffer.from(`${size} ${mtimeMs}\n`);
  const cacheFile = `${file}.v8cache`;
  let cachedData;
  try {
    const saved = readFileSync(cacheFile);
    if (saved.subarray(0, stamp.length).equals(stamp)) cachedData = saved.subarray(stamp.length);
  } catch {
    // No cache yet: compile, and save one below.
  }
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, Module.createRequire(file), module, file, dirname(file));
  const saveCache = () => {
    if (cachedData && !script.cachedDataRejected) return;
    const partial = `${cacheFile}.${process.pid}`;
    try {
      writeFileSync(partial, Buffer.concat([stamp, script.createCachedData()]));
      renameSync(partial, cacheFile);
    } catch {
      // Read-only package directory: no cache, the command has run all the same.
    }
  };
  return { exports: module.exports, saveCache };
}

async function run(argv) {
  const main = firstPresent('bundle/main.mjs', 'scripts/cli/main.js');
  if (!main) {
    process.stderr.write('ctdb-bridge: the build is missing (dist/); run `npm run build` in the package directory\n');
    process.exit(1);
  }
  // One-shot `legacy <command>` and `--version` start on a lean path (no
  // commander, pino, ...); whatever it does not understand goes to the full CLI.
  if (argv[0] === 'legacy' || argv[0] === '--version' || argv[0] === '-V') {
    const bundled = firstPresent('scripts/cli/legacy/fast-main.bundle.cjs');
    const unbundled = firstPresent('scripts/cli/legacy/fast-main.js');
    const fast = bundled ? requireWithCodeCache(bundled)
      : unbundled ? { exports: await import(pathToFileURL(unbundled).href), saveCache() {} }
        : undefined;
    if (fast) {
      const handled = await fast.exports.runFast(argv);
      fast.saveCache();
      if (handled) return;
    }
  }
  await import(pathToFileURL(main).href);
}

run(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`ctdb-bridge: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
