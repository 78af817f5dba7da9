// Software version reported in hello, version and status replies.
import { createRequire } from 'node:module';

const pkg = createRequire(import.meta.url)('../package.json') as { version: string };
export const SOFTWARE_VERSION = `ctdb-bridge ${pkg.version}`;
