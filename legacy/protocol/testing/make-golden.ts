import { writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { nodeLinkStream } from './golden.ts';

// Writes fixtures/golden/node-link.bin (see golden.ts).
const dir = fileURLToPath(new URL('../fixtures/golden/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}node-link.bin`, nodeLinkStream());
process.stdout.write(`wrote ${dir}node-link.bin\n`);
