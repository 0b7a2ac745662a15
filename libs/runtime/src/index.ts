// Public API of @opi/runtime: the agent process kit (config, logging, gRPC server, lifecycle).
export { runAgent, startAgent } from './agent.js';
export type { AgentContext, AgentKind, AgentSpec, RunningAgent } from './agent.js';
export { ConfigError, baseConfigShape, configKeyNames, loadConfig, logLevels } from './config.js';
export type { AgentConfig } from './config.js';
export { createGrpcServer, serviceNameOf, unimplementedService } from './grpc-server.js';
export type { AgentGrpcServer, GrpcServerSettings, GrpcTlsFiles } from './grpc-server.js';
export { createLogger, secretFieldNames } from './logging.js';
export type { Logger, LoggerSettings } from './logging.js';
