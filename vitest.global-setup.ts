import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

/**
 * Tests that spawn `ctdb-bridge` (CLI, embedded nodes, transportds) run the
 * compiled dist/, so every test run first brings it up to date with the
 * sources (incremental: about 2 s when nothing changed). Both steps of `npm
 * run build`: the bin prefers the esbuild bundles when present, so tsc alone
 * left children running whatever the last full build bundled (~1 s more).
 */
export default function buildDist(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: import.meta.dirname, stdio: 'pipe' });
    execFileSync(process.execPath, ['scripts/build/bundle.mjs'], { cwd: import.meta.dirname, stdio: 'pipe' });
  } catch (err) {
    const out = (err as { stdout?: Buffer }).stdout?.toString() ?? '';
    throw new Error(`the build for the tests failed (npm run build):\n${out}`);
  }
}
