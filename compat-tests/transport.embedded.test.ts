import { startEmbeddedSuiteCluster } from './support/suite-clusters.ts';
import { defineTransportSuite } from './suites/transport-suite.ts';

/** The same transport suite as transport.real.test.ts, through the embedded daemon (3 nodes). */
defineTransportSuite('an embedded-daemon cluster', () => startEmbeddedSuiteCluster({ nodes: 3 }));
