import { rename, rm, writeFile } from 'node:fs/promises';

/**
 * Writes `path` via a temporary file and a rename, so a reader (or a process
 * killed mid-write) never leaves or sees half a file: it is either the old
 * content, or the new one, or absent.
 */
export async function writeFileAtomic(path: string, text: string, mode?: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, text, mode === undefined ? undefined : { mode });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
