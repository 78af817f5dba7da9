import { startRealSuiteCluster } from './support/suite-clusters.ts';
import { defineClusterdSuite } from './suites/clusterd-suite.ts';

/** clusterd next to Debian's real ctdbd 4.17 (3 nodes), heartbeats and votes through the tunnel. */
defineClusterdSuite('a real ctdbd 4.17 cluster', () => startRealSuiteCluster({ nodes: 3 }));
