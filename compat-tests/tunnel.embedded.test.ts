import { startEmbeddedSuiteCluster } from './support/suite-clusters.ts';
import { defineTunnelSuite } from './suites/tunnel-suite.ts';

/** Tunnel endpoints through the embedded daemon (3 nodes), same scenarios as tunnel.real.test.ts. */
defineTunnelSuite('the embedded daemon', () => startEmbeddedSuiteCluster({ nodes: 3 }));
