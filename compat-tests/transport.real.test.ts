import { startRealSuiteCluster } from './support/suite-clusters.ts';
import { defineTransportSuite } from './suites/transport-suite.ts';

/** The transport over the tunnel through real Debian ctdbd 4.17 (3 nodes), and over WebSocket between the same nodes. */
defineTransportSuite('a real ctdbd 4.17 cluster', () => startRealSuiteCluster({ nodes: 3 }));
