// A component process for the tunnel bench: attaches to a transportd over its
// unix socket and answers bench.echo with the request's body and bench.blob
// with its length. Prints "attached" once it holds its service; stops on
// SIGTERM/SIGINT. Started by spawnEchoComponent (bench-echo.ts).

import { parseArgs } from 'node:util';
import { pinTickObjectShape } from '../../legacy/common/tick-shape.ts';
import { connectTransport } from '../../transport/index.ts';
import { ECHO_TYPE, echoBenchRegistry } from './bench-echo.ts';

pinTickObjectShape(); // an entry point, as transportd's: nextTick stays on V8's fast path

const { values: args } = parseArgs({ options: { socket: { type: 'string' }, service: { type: 'string' } } });
if (!args.socket || !args.service) throw new Error('usage: echo-component.ts --socket PATH --service N');

const client = await connectTransport({ socketPath: args.socket, service: Number(args.service), name: 'bench-echo', registry: echoBenchRegistry() },
  (c) => {
    c.handle(ECHO_TYPE, (body: { data: string }) => body);
    c.handle('bench.blob', (body: { data: string }) => body.data.length);
  });
process.stdout.write('attached\n');
let stopping = false;
const stop = (): void => {
  stopping = true;
  void client.close().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
client.onClose(() => {
  if (!stopping) process.exit(1); // transportd went away
});
