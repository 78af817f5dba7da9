import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A network partition between loopback node addresses, made with nftables:
 * one table of our own per partition (named after this process), dropping
 * IPv4 packets between the two sides in both directions. Only the given test
 * addresses are matched; heal() deletes the table. nft must be installed
 * (CI installs nftables); a missing nft fails the test loudly.
 */
export class Partition {
  private static next = 0;
  readonly table = `ctdb_bridge_test_${process.pid}_${Partition.next++}`;
  private active = false;

  constructor(readonly sideA: string[], readonly sideB: string[]) {}

  async cut(): Promise<void> {
    const a = `{ ${this.sideA.join(', ')} }`;
    const b = `{ ${this.sideB.join(', ')} }`;
    const script = [
      `table inet ${this.table} {`,
      '  chain input {',
      '    type filter hook input priority -10; policy accept;',
      `    ip saddr ${a} ip daddr ${b} drop`,
      `    ip saddr ${b} ip daddr ${a} drop`,
      '  }',
      '}',
    ].join('\n');
    await nft(['-f', '-'], script);
    this.active = true;
  }

  async heal(): Promise<void> {
    if (!this.active) return;
    await nft(['delete', 'table', 'inet', this.table]);
    this.active = false;
  }
}

async function nft(args: string[], input?: string): Promise<void> {
  const child = run('nft', args, { timeout: 10_000 });
  if (input !== undefined) {
    child.child.stdin!.end(input);
  }
  try {
    await child;
  } catch (err) {
    throw new Error(`nft ${args.join(' ')} failed: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`);
  }
}
