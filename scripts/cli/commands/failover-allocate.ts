import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { failoverCommand } from './failover-group.ts';
import { allocate, AllocationInputError } from '../../../components/failoverd/allocation/index.ts';
import { AllocationJsonError, parseAllocationInputText } from '../failover/allocation-input.ts';
import { formatPlacementJson, formatPlacementText } from '../failover/allocate-output.ts';

/**
 * `ctdb-bridge failover allocate [FILE|-] [--json]`: ctdbd's public IP
 * allocation of one JSON input (what a takeover run gathers), computed
 * offline. Exit 1 with the JSON path and reason when the input is not
 * usable.
 */

const INPUT_HELP = `
Input: one JSON object
  {"algorithm": "lcp2"|"deterministic"|"nondeterministic",        (default lcp2)
   "tunables": {"NoIPFailback": 0, "NoIPTakeover": 0, "NoIPHostOnAllDisabled": 0},   (default 0)
   "nodes": [{"pnn": 0, "flags": 0, "runstate": 5,                 (flags 0, runstate 5 = RUNNING by default)
              "ips": [{"ip": "10.0.0.1", "pnn": -1, "available": true}]}],   (pnn: the owner this node reports)
   "forceRebalanceNodes": [1]}                                      (optional, LCP2)
Nodes are PNNs 0..N-1 (as ctdbd's node map). Output: one "IP PNN" line per address
(PNN -1: no node may host it), or with --json [{"ip": ..., "pnn": ...}].
`;

async function readInput(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Adds `allocate` under `failover` (creating `failover` when no other module has). */
export function registerFailoverAllocate(program: Command): void {
  const failover = failoverCommand(program);
  failover
    .command('allocate')
    .description('compute ctdbd\'s public IP allocation for a JSON input (no cluster needed)')
    .argument('[file]', 'JSON input file; "-" or none = stdin', '-')
    .option('--json', 'print [{"ip":...,"pnn":...}]')
    .addHelpText('after', INPUT_HELP)
    .action(async (file: string, opts: { json?: boolean }) => {
      let text: string;
      try {
        text = await readInput(file);
      } catch (err) {
        process.stderr.write(`ctdb-bridge failover allocate: ${file}: ${(err as Error).message}\n`);
        process.exitCode = 1;
        return;
      }
      try {
        const placement = allocate(parseAllocationInputText(text));
        process.stdout.write(opts.json ? formatPlacementJson(placement) : formatPlacementText(placement));
      } catch (err) {
        // The allocation checks its input too; the parser should have caught anything it refuses.
        if (!(err instanceof AllocationJsonError) && !(err instanceof AllocationInputError)) throw err;
        process.stderr.write(`ctdb-bridge failover allocate: ${file === '-' ? 'stdin' : file}: ${err.message}\n`);
        process.exitCode = 1;
      }
    });
}
