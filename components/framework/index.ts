// Public surface of the component framework (package entry `ctdb-bridge/components`).
export { CLUSTERD_SERVICE, FAILOVERD_SERVICE, DEFAULT_TRANSPORT_SOCKET } from './services.ts';
export { BUILTIN_COMPONENT_MESSAGES, LOG_LEVELS, type ComponentLogLevel } from './builtin-messages.ts';
export {
  BRIDGE_CONF_NAME, CLUSTERD_MODES, parseBridgeConf, bridgeConfDefaults, formatBridgeConf,
  type BridgeConf, type BridgeConfKey, type BridgeConfValues, type ClusterdMode,
} from './bridge-conf.ts';
export { configPaths, loadOperatorConfig, type ConfigPaths, type OperatorConfig } from './config-files.ts';
export {
  realComponentTimers, type ComponentDefinition, type ComponentInstance, type ComponentContext, type ComponentTransport,
  type ComponentTimers,
} from './component.ts';
export { ComponentHost, type ComponentHostOptions, type HostState } from './host.ts';
export type { MessageDefinition, MessageSchemas, SchemaObject } from './schema-types.ts';
