/**
 * `ctdb -X ip all` (4.17 spells the "all nodes" form as an argument:
 * `-n` takes a single PNN): a header |Public IP|Node| and one row per
 * address; Node is the owner's PNN, -1 when nobody hosts it.
 */
export function parsePublicIpsX(stdout: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    const cells = line.split('|');
    if (cells.length < 4 || cells[1] === 'Public IP') continue;
    const pnn = Number(cells[2]);
    if (cells[1] !== '' && Number.isInteger(pnn)) out.set(cells[1], pnn);
  }
  return out;
}
