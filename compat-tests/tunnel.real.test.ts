import { startRealSuiteCluster } from './support/suite-clusters.ts';
import { defineTunnelSuite } from './suites/tunnel-suite.ts';

/** Tunnel endpoints through real Debian ctdbd 4.17 (3 nodes, test mode, loopback). */
defineTunnelSuite('real ctdbd 4.17', () => startRealSuiteCluster({ nodes: 3 }));
