import { defineConfig } from 'vitest/config';

// Two projects: fast unit tests beside the code, and the slow compat suite
// that starts real Samba daemons (one fork at a time: they share loopback ports).
// The units run first and the compat suite after them (groupOrder): on a
// 2-core machine the compat suite's timing-sensitive failovers must not share
// the CPU with the unit workers.
export default defineConfig({
  test: {
    globalSetup: ['./vitest.global-setup.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: ['legacy/**/*.test.ts', 'tunnel/**/*.test.ts', 'transport/**/*.test.ts',
            'components/**/*.test.ts', 'scripts/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'compat',
          sequence: { groupOrder: 1 },
          include: ['compat-tests/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
