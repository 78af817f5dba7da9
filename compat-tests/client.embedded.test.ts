import { startEmbeddedSuiteCluster } from './support/suite-clusters.ts';
import { defineClientSuite } from './suites/client-suite.ts';

/**
 * The legacy client suite against the embedded daemon (3 nodes, our
 * TypeScript ctdbd, real `ctdb` CLI as the reference for CLI output).
 */
defineClientSuite('legacy client against the embedded daemon', () => startEmbeddedSuiteCluster());
