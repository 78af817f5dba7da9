import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where our own package lives and its version. Found by walking up from this
 * module to our package.json, so the same code works from the sources
 * (legacy/common/), from the build (dist/legacy/common/) and in an
 * installed tarball.
 */
function findPackage(): { root: string; version: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'ctdb-bridge' && typeof pkg.version === 'string') return { root: dir, version: pkg.version };
    } catch {
      // No package.json at this level: keep walking up.
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('ctdb-bridge: cannot find its own package.json');
    dir = parent;
  }
}

const found = findPackage();

export const PACKAGE_ROOT = found.root;
export const PACKAGE_VERSION = found.version;
/** The `ctdb-bridge` command, for the processes we start (embedded nodes, transportds). */
export const CLI_ENTRY = join(PACKAGE_ROOT, 'scripts', 'bin', 'ctdb-bridge.cjs');
