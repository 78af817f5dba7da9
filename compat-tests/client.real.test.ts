import { startRealSuiteCluster } from './support/suite-clusters.ts';
import { defineClientSuite } from './suites/client-suite.ts';

/**
 * The legacy client suite against real Debian ctdbd 4.17 (3 nodes, test
 * mode, loopback). Fails when ctdbd is not installed.
 */
defineClientSuite('legacy client against real ctdbd 4.17', () => startRealSuiteCluster());
