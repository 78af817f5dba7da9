import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Our own package.json's version. Found by walking up from this module, so
 * the same code works from the sources (legacy/common/) and from the build
 * (dist/legacy/common/) and in an installed tarball.
 */
function findVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'ctdb-bridge' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // No package.json at this level: keep walking up.
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('ctdb-bridge: cannot find its own package.json');
    dir = parent;
  }
}

export const PACKAGE_VERSION = findVersion();
