// Our long-running services on a host, and the facts every part that starts
// or stops them agrees on (systemd units, the local-cluster supervisor, the
// CLI): names, what each needs first, and how failoverd drains before a stop.

export const BRIDGE_SERVICES = ['transportd', 'clusterd', 'failoverd'] as const;
export type BridgeService = (typeof BRIDGE_SERVICES)[number];

export interface ServiceFacts {
  /** One line, for the unit's Description= and for messages. */
  description: string;
  /** Started before this one and wanted by it (systemd: Wants= + After=); stopped after it. */
  needs: readonly BridgeService[];
  /** failoverd: move this node's public addresses away before the process stops. */
  drainsOnStop: boolean;
}

export const SERVICE_FACTS: Readonly<Record<BridgeService, ServiceFacts>> = {
  transportd: { description: 'the node\'s transport router', needs: [], drainsOnStop: false },
  clusterd: { description: 'membership, health and leadership', needs: ['transportd'], drainsOnStop: false },
  // The drain asks clusterd who decides, so failoverd stops before clusterd.
  failoverd: { description: 'public IP failover', needs: ['transportd', 'clusterd'], drainsOnStop: true },
};

/** How long a stop waits for the drain to show before stopping anyway (ms). */
export const DRAIN_WAIT_MS = 30_000;

/** `ctdb-bridge` arguments of the drain run before failoverd stops (this node: the default of `failover drain`). */
export function drainArgs(waitMs = DRAIN_WAIT_MS): string[] {
  return ['failover', 'drain', '--wait', String(waitMs)];
}

export class UnknownServiceError extends Error {
  override name = 'UnknownServiceError';
  constructor(readonly service: string) {
    super(`unknown service "${service}" (known: ${BRIDGE_SERVICES.join(', ')})`);
  }
}

export function parseService(name: string): BridgeService {
  if ((BRIDGE_SERVICES as readonly string[]).includes(name)) return name as BridgeService;
  throw new UnknownServiceError(name);
}

/** `needs` first, transitively, then the service itself: the order to start them in. */
export function startOrder(service: BridgeService): BridgeService[] {
  const out: BridgeService[] = [];
  const visit = (s: BridgeService) => {
    for (const n of SERVICE_FACTS[s].needs) visit(n);
    if (!out.includes(s)) out.push(s);
  };
  visit(service);
  return out;
}
