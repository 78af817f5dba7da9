// Lists the benchmarks in scripts/bench/ and runs one of them, or all in turn.
//
//   npm run bench                     list the benchmarks with one-line descriptions
//   npm run bench -- codec [args...]  run one; the remaining arguments go to it
//   npm run bench -- all              run every benchmark, one after the other
//
// A file is a benchmark when its header shows how to run it
// (`scripts/bench/<name>.ts`); helper modules do not. Each benchmark runs in
// its own process, as it would from the command line.

import { readdirSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = dirname(fileURLToPath(import.meta.url));
const runTs = join(benchDir, '..', 'bin', 'run-ts.mjs');

interface Benchmark {
  name: string;
  file: string;
  description: string;
}

/** The first sentence of the file's first comment block. */
export function describeBenchmark(source: string): string {
  const lines = source.split('\n');
  const start = lines.findIndex((l) => /^\s*(\/\/|\/\*\*?)/.test(l));
  if (start < 0) return '';
  const text: string[] = [];
  for (const line of lines.slice(start)) {
    if (!/^\s*(\/\/|\/\*|\*)/.test(line)) break;
    const t = line.replace(/^\s*(\/\/+|\/\*\*?|\*\/|\*)\s?/, '').replace(/\*\/\s*$/, '').trim();
    if (t === '' && text.length > 0) break;
    if (t !== '') text.push(t);
    if (/\*\//.test(line)) break;
  }
  const joined = text.join(' ');
  const sentence = /^(.*?\.)(\s|$)/.exec(joined)?.[1] ?? joined;
  return sentence.length > 110 ? `${sentence.slice(0, 107)}...` : sentence;
}

export function listBenchmarks(dir = benchDir): Benchmark[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'index.ts')
    .map((f) => ({ name: basename(f, '.ts'), file: join(dir, f), source: readFileSync(join(dir, f), 'utf8') }))
    .filter((b) => b.source.includes(`scripts/bench/${b.name}.ts`))
    .map(({ name, file, source }) => ({ name, file, description: describeBenchmark(source) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function run(bench: Benchmark, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [runTs, bench.file, ...args], { stdio: 'inherit' });
    // Forward Ctrl-C/TERM to the benchmark so it can tear its daemons down, by PID.
    const forward = (sig: NodeJS.Signals) => () => { child.kill(sig); };
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(code ?? (signal ? 1 : 0));
    });
    child.on('error', (err) => {
      process.stderr.write(`${bench.name}: ${err.message}\n`);
      resolve(1);
    });
  });
}

async function main(): Promise<void> {
  const [which, ...rest] = process.argv.slice(2);
  const benchmarks = listBenchmarks();
  if (!which || which === '--help' || which === '-h' || which === 'list') {
    const width = Math.max(...benchmarks.map((b) => b.name.length));
    process.stdout.write('usage: npm run bench -- <name>|all [args...]\n\n');
    for (const b of benchmarks) process.stdout.write(`  ${b.name.padEnd(width)}  ${b.description}\n`);
    return;
  }
  if (which === 'all') {
    const failed: string[] = [];
    for (const b of benchmarks) {
      process.stdout.write(`\n=== ${b.name}: ${b.description}\n`);
      if ((await run(b, rest)) !== 0) failed.push(b.name);
    }
    if (failed.length > 0) {
      process.stderr.write(`failed: ${failed.join(', ')}\n`);
      process.exitCode = 1;
    }
    return;
  }
  const bench = benchmarks.find((b) => b.name === which || `${b.name}.ts` === which);
  if (!bench) {
    process.stderr.write(`unknown benchmark "${which}"; known: ${benchmarks.map((b) => b.name).join(', ')}, all\n`);
    process.exitCode = 2;
    return;
  }
  process.exitCode = await run(bench, rest);
}

await main();
