import { describe, expect, it, vi } from 'vitest';
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Both paths end in runLegacyCommand: capture what each would run it with.
vi.mock('./run.ts', () => ({ runLegacyCommand: vi.fn(async () => 0) }));
const { runLegacyCommand } = await import('./run.ts');
const { registerLegacy } = await import('../commands/legacy.ts');
const { parseFastArgs, runFast } = await import('./fast-main.ts');

/** What the commander CLI passes to runLegacyCommand for argv, or 'error' when it refuses the line. */
async function viaCommander(argv: string[]): Promise<unknown> {
  const program = new Command().exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  registerLegacy(program);
  vi.mocked(runLegacyCommand).mockClear();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch {
    return 'error';
  }
  return vi.mocked(runLegacyCommand).mock.calls[0]?.[0];
}

/** Lines the lean path must take itself, each with commander's exact meaning. */
const HANDLED: string[][] = [
  ['legacy', 'pnn'],
  ['legacy', 'status', '--socket', '/run/x.socket'],
  ['legacy', '--socket', '/run/x.socket', 'status'],
  ['legacy', '--socket=/run/x.socket', 'status'],
  ['legacy', '--socket=', 'status'],
  ['legacy', '-n', '1', 'getvar', 'RecoverTimeout'],
  ['legacy', 'getvar', 'RecoverTimeout', '-n', '1'],
  ['legacy', '--node=2', 'uptime'],
  ['legacy', '-t', '3', 'status'],
  ['legacy', '--timelimit', '2.5', 'status'],
  ['legacy', '--timelimit=abc', 'status'],
  ['legacy', '-v', 'ip', 'all'],
  ['legacy', 'ip', '--verbose', 'all', '-v'],
  ['legacy', 'nodestatus', 'all', '--json', '-n', '0', '--socket', '/s'],
  ['legacy', '--socket', '/a', '--socket', '/b', 'pnn'],
  ['legacy', 'setvar', 'RecoverTimeout', '0x29'],
  ['legacy', 'nosuchcommand', 'x'],
  ['legacy', '', 'pnn'],
  ['legacy', '-', 'pnn'],
];

/** Lines left to commander (help, errors, forms whose meaning is subtle). */
const DEFERRED: string[][] = [
  ['legacy'],
  ['legacy', '--help'],
  ['legacy', 'status', '-h'],
  ['legacy', '-n'],
  ['legacy', 'pnn', '-n'],
  ['legacy', '-n1', 'pnn'],
  ['legacy', '-vn', '1', 'pnn'],
  ['legacy', '-n', '-1', 'pnn'],
  ['legacy', '--', 'pnn'],
  ['legacy', '--foo', 'pnn'],
  ['legacy', 'pnn', '--json=1'],
  ['legacy', 'setvar', 'RecoverTimeout', '-5'],
  ['status'],
  ['decode', 'x'],
  ['--version', 'x'],
  [],
];

describe('parseFastArgs', () => {
  for (const argv of HANDLED) {
    it(`runs ${JSON.stringify(argv)} exactly as commander would`, async () => {
      const lean = parseFastArgs(argv);
      expect(lean?.kind).toBe('legacy');
      const commander = await viaCommander(argv);
      expect(commander).not.toBe('error');
      expect(lean && lean.kind === 'legacy' ? lean.options : undefined).toEqual(commander);
    });
  }

  for (const argv of DEFERRED) {
    it(`leaves ${JSON.stringify(argv)} to commander`, () => {
      expect(parseFastArgs(argv)).toBeUndefined();
    });
  }

  it('takes --version and -V alone', () => {
    expect(parseFastArgs(['--version'])).toEqual({ kind: 'version' });
    expect(parseFastArgs(['-V'])).toEqual({ kind: 'version' });
  });
});

describe('runFast', () => {
  it('declines what it does not parse, before doing anything', async () => {
    vi.mocked(runLegacyCommand).mockClear();
    expect(await runFast(['legacy', '--help'])).toBe(false);
    expect(runLegacyCommand).not.toHaveBeenCalled();
  });

  it('runs the command and sets the exit status like the commander action (low 8 bits)', async () => {
    vi.mocked(runLegacyCommand).mockResolvedValueOnce(0x16e);
    const before = process.exitCode;
    try {
      expect(await runFast(['legacy', 'setvar', 'X', '1', '--socket', '/s'])).toBe(true);
      expect(process.exitCode).toBe(0x6e);
    } finally {
      process.exitCode = before;
    }
  });
});

describe('what the lean path loads', () => {
  /**
   * Static value imports reachable from fast-main.ts (dynamic import() not
   * followed: those load only for the command that needs them). Over-approximates
   * (an import used only as a type is counted), which is safe for a "never" list.
   */
  function staticGraph(entry: string): Set<string> {
    const seen = new Set<string>();
    const todo = [entry];
    while (todo.length > 0) {
      const file = todo.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      if (!file.endsWith('.ts')) continue; // a package or node: builtin
      const source = readFileSync(file, 'utf8');
      for (const m of source.matchAll(/^(?:import|export)\s+(type\s+)?([^'";]*?)\s*from\s+'([^']+)'|^import\s+'([^']+)'/gm)) {
        const spec = m[3] ?? m[4];
        if (m[1]) continue; // import type / export type
        const names = m[2]?.match(/\{([^}]*)\}/)?.[1];
        if (names && !/\*/.test(m[2]) && names.split(',').every((n) => n.trim() === '' || /^type\s/.test(n.trim()))) continue;
        todo.push(spec.startsWith('.') ? resolve(dirname(file), spec) : spec);
      }
    }
    return seen;
  }

  it('reaches neither commander, pino, ajv, binary-parser, ws nor the codec index, dissector, config readers or daemon', () => {
    const graph = staticGraph(fileURLToPath(new URL('./fast-main.ts', import.meta.url)));
    // fast-main imports run.ts dynamically; the legacy command path is run.ts's graph.
    for (const f of staticGraph(fileURLToPath(new URL('./run.ts', import.meta.url)))) graph.add(f);
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const files = [...graph].map((f) => f.startsWith(root) ? f.slice(root.length) : f);
    const forbidden = files.filter((f) => /^(commander|pino|ajv|binary-parser|ws)$/.test(f)
      || /^legacy\/protocol\/(index|dissect)\.ts$/.test(f) || /^legacy\/(config|daemon)\//.test(f)
      || /^(transport|tunnel|components)\//.test(f));
    expect(forbidden).toEqual([]);
    expect(files).toContain('legacy/client/client.ts'); // the walk does follow the graph
  });
});
