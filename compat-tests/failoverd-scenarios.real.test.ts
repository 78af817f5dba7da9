import { defineFailoverdScenarios } from './suites/failoverd-scenarios.ts';

/**
 * failoverd in stage 3 (active: ctdbd's own takeover runs held off, failoverd
 * performs them through ctdbd) on a 3-node netns cluster of Debian's ctdbd
 * 4.17 with public IP failover: the scenario list of suites/failoverd-scenarios.ts.
 * Subnets 10.110-119.0.0/24.
 */
defineFailoverdScenarios({ kind: 'real', subnetRange: [110, 119] });
