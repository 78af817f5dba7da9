import { startLegacyProbe, startTransportProbe, type ProbeChildMessage, type ProbeOptions, type ProbeTarget } from './well-behaved-probe.ts';

/**
 * The well-behaved client's own process (see startProbe): argv[2] is
 * {target, opts} as JSON; it says 'ready' once running, and on 'stop'
 * sends its results and exits. It exits too when its parent goes away.
 */

const send = (m: ProbeChildMessage) => new Promise<void>((resolve) => process.send!(m, () => resolve()));
const { target, opts } = JSON.parse(process.argv[2]) as { target: ProbeTarget; opts: ProbeOptions };
process.on('disconnect', () => process.exit(0));
try {
  const probe = target.kind === 'legacy'
    ? await startLegacyProbe(target.socketPath, opts)
    : await startTransportProbe(target.socketPath, target.node, opts);
  process.once('message', async () => {
    await send({ result: await probe.stop() });
    process.exit(0);
  });
  await send({ ready: true });
} catch (err) {
  await send({ failed: (err as Error).message });
  process.exit(1);
}
