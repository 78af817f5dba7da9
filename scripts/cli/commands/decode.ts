import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { Dissector, parseHexDump, toJsonValue } from '../../../legacy/protocol/dissect.ts';
import { CtdbDecodeError } from '../../../legacy/protocol/errors.ts';

/**
 * `ctdb-bridge decode [--hex] [--roundtrip] [--strict] [FILE|-]...`
 * Prints one JSON object per packet of a legacy CTDB capture. Several files
 * share context: give the client->daemon capture first and the
 * daemon->client one second, so replies are matched to their controls.
 */
export function registerDecode(program: Command): void {
  program
    .command('decode')
    .description('decode a legacy CTDB byte capture into one JSON object per packet')
    .argument('[files...]', 'capture files (raw bytes, or hex with --hex); "-" or none = stdin')
    .option('--hex', 'input is a hex dump (whitespace, 0x, xxd / hexdump -C / od offset columns tolerated)')
    .option('--roundtrip', 're-encode every packet and payload and check the bytes are identical (padding ignored)')
    .option('--strict', 'node-to-node framing rules (length multiple of 8, magic and version checked)')
    .action(async (files: string[], opts: { hex?: boolean; roundtrip?: boolean; strict?: boolean }) => {
      const inputs = files.length > 0 ? files : ['-'];
      const dissector = new Dissector({ roundtrip: opts.roundtrip, strict: opts.strict });
      for (const file of inputs) {
        const raw = file === '-' ? await readStdin() : await readFile(file);
        let bytes: Buffer;
        try {
          bytes = opts.hex ? parseHexDump(raw.toString('utf8')) : raw;
        } catch (err) {
          if (!(err instanceof CtdbDecodeError)) throw err;
          process.stderr.write(`ctdb-bridge decode: ${file}: ${err.message}\n`);
          process.exitCode = 1;
          continue;
        }
        const label = inputs.length > 1 ? file : undefined;
        for (const rec of dissector.dissectStream(bytes, label)) {
          process.stdout.write(`${JSON.stringify(toJsonValue(rec))}\n`);
        }
      }
      const { packets, errors, messages } = dissector.summary;
      for (const m of messages) process.stderr.write(`ctdb-bridge decode: ${m}\n`);
      process.stderr.write(`ctdb-bridge decode: ${packets} packets, ${errors} errors${opts.roundtrip ? ' (round trip checked)' : ''}\n`);
      if (errors > 0) process.exitCode = 1;
    });
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
