/** Control and message payload types (types.md), each defined once with the struct DSL. */
export * from './basic.ts';
export * from './sock-addr.ts';
export * from './ltdb.ts';
export * from './records.ts';
export * from './node.ts';
export * from './database.ts';
export * from './traverse.ts';
export * from './tunables.ts';
export * from './statistics.ts';
export * from './public-ip.ts';
export * from './misc.ts';
export * from './messages.ts';
