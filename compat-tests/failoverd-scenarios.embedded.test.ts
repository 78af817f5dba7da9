import { defineFailoverdScenarios } from './suites/failoverd-scenarios.ts';

/**
 * Stage 4 on the embedded daemon: failoverd native on every node (inside
 * the node's network namespace; the embedded daemon does no failover of its
 * own), on a 3-node netns cluster: the scenario list of
 * suites/failoverd-scenarios.ts, plus native mode's repair of host drift.
 * Subnets 10.140-149.0.0/24.
 */
defineFailoverdScenarios({ kind: 'embedded', subnetRange: [140, 149] });
