// `ctdb-bridge service install|uninstall`: which files go where under a root
// directory (/ on a real host, a staging directory in tests and image
// builds), decided first as a plan (printed by --dry-run), then applied.

import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { BRIDGE_SERVICES } from './services.ts';
import { INSTALLED_MARK, UNIT_DIR, renderUnits, unitName, type RenderedFile, type UnitPaths } from './units.ts';
import { defaultConfigFiles } from './default-config.ts';

export type FileAction =
  /** install: new or changed; uninstall: removed. */
  | 'write' | 'unchanged' | 'remove'
  /** A configuration file that exists: never replaced, never removed. */
  | 'keep'
  /** uninstall: nothing there. */
  | 'absent';

export interface PlannedFile {
  /** Path on the target host. */
  path: string;
  /** Where it is written: the path under the root. */
  at: string;
  action: FileAction;
  text?: string;
  mode?: number;
}

export class ForeignFileError extends Error {
  override name = 'ForeignFileError';
  constructor(readonly path: string) {
    super(`${path} exists and was not written by \`ctdb-bridge service install\` (no "${INSTALLED_MARK}" line); ` +
      'move it away or use a drop-in directory for local changes');
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Units are ours to replace (when they carry our mark); configuration files are written only when absent. */
export async function planInstall(root: string, paths: UnitPaths): Promise<PlannedFile[]> {
  const plan: PlannedFile[] = [];
  const place = (f: RenderedFile) => ({ path: f.path, at: join(resolve(root), f.path), text: f.text, mode: f.mode });
  for (const f of renderUnits(paths)) {
    const p = place(f);
    const old = await readIfExists(p.at);
    if (old !== undefined && !old.startsWith(INSTALLED_MARK)) throw new ForeignFileError(p.at);
    plan.push({ ...p, action: old === f.text ? 'unchanged' : 'write' });
  }
  for (const f of defaultConfigFiles()) {
    const p = place(f);
    plan.push({ ...p, action: existsSync(p.at) ? 'keep' : 'write' });
  }
  return plan;
}

/** The units go; configuration files stay (an operator's settings outlive the units, as with dpkg's remove). */
export async function planUninstall(root: string): Promise<PlannedFile[]> {
  const plan: PlannedFile[] = [];
  for (const s of BRIDGE_SERVICES) {
    const path = `${UNIT_DIR}/${unitName(s)}`;
    const at = join(resolve(root), path);
    const old = await readIfExists(at);
    if (old !== undefined && !old.startsWith(INSTALLED_MARK)) throw new ForeignFileError(at);
    plan.push({ path, at, action: old === undefined ? 'absent' : 'remove' });
  }
  for (const f of defaultConfigFiles()) {
    const at = join(resolve(root), f.path);
    if (existsSync(at)) plan.push({ path: f.path, at, action: 'keep' });
  }
  return plan;
}

export async function applyPlan(plan: readonly PlannedFile[]): Promise<void> {
  for (const f of plan) {
    if (f.action === 'write') {
      await mkdir(dirname(f.at), { recursive: true, mode: 0o755 });
      await writeFile(f.at, f.text!, { mode: f.mode });
      await chmod(f.at, f.mode!); // an existing file keeps its old mode otherwise
    } else if (f.action === 'remove') {
      await rm(f.at, { force: true });
    }
  }
}

/** True when the plan changes anything systemd reads. */
export function changesUnits(plan: readonly PlannedFile[]): boolean {
  return plan.some((f) => f.path.endsWith('.service') && (f.action === 'write' || f.action === 'remove'));
}

/** A line per file, as the CLI prints it. */
export function describePlan(plan: readonly PlannedFile[], dryRun: boolean): string[] {
  const verb: Record<FileAction, string> = dryRun
    ? { write: 'would write', unchanged: 'unchanged', remove: 'would remove', keep: 'kept (exists)', absent: 'absent' }
    : { write: 'wrote', unchanged: 'unchanged', remove: 'removed', keep: 'kept (exists)', absent: 'absent' };
  return plan.map((f) => `${verb[f.action]} ${f.at}`);
}
