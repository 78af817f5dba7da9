import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Socket reads land in 64 KiB buffers on malloc's heap, garbage once their
 * bytes are copied. A client that streams tens of MiB of a packet it never
 * completes leaves as much garbage behind, and an idle daemon allocates too
 * little for V8 to ever collect it: the heap, and the daemon's RSS, stay
 * grown (measured: +50 MiB after three rounds of the hostile "partial big
 * packets" attack, still there 12 s later). One full collection after such a
 * connection ends frees those buffers, and malloc trims its heap.
 */
export class MemoryReclaimer {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: { delayMs?: number; collect?: () => void } = {}) {}

  /** A full collection soon; requests before it runs share it. */
  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      (this.opts.collect ?? fullCollection())();
    }, this.opts.delayMs ?? 100);
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

let collector: (() => void) | undefined;

/** V8's full collection (`gc`), exposed at run time rather than by a command-line flag every start would need. */
function fullCollection(): () => void {
  if (!collector) {
    setFlagsFromString('--expose-gc');
    collector = runInNewContext('gc') as () => void;
  }
  return collector;
}
