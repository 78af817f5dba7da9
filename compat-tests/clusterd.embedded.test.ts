import { startEmbeddedSuiteCluster } from './support/suite-clusters.ts';
import { defineClusterdSuite } from './suites/clusterd-suite.ts';

/** The same clusterd suite on the embedded daemon (3 nodes). */
defineClusterdSuite('an embedded-daemon cluster', () => startEmbeddedSuiteCluster({ nodes: 3 }));
