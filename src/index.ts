/**
 * steward's library surface: start roles in-process, call services, write
 * workers and backends. Everything here is also what the CLI roles use.
 */
export { Broker, DEFAULT_BACKEND, DEFAULT_FRONTEND } from './api/broker.js';
export type { BrokerOptions, BrokerEndpoints } from './api/broker.js';
export { Worker } from './api/worker.js';
export type { WorkerOptions, IncomingRequest, Handler, HandlerResult, PartialReplies, ReplyBody, WorkerRequest } from './api/worker.js';
export { Client } from './api/client.js';
export type { ClientOptions, CallOptions, StreamOptions, ReplyStream, StreamPart } from './api/client.js';
export { TimeoutError, NoWorkerError, BrokerError, RemoteError, UnknownMethodError, InvalidReplyError, ClosedError } from './api/errors.js';
export { RpcRegistry } from './api/rpc-registry.js';
export { StartupError } from './api/start-failure.js';
export { EndpointError } from './actors/endpoint-error.js';
export { Sink } from './api/sink.js';
export { Balancer, BalancerClient, BalancerError } from './api/balancer.js';
export type { BalancerOptions, BalancerClientOptions, BalancerRequest } from './api/balancer.js';
export { Registry } from './api/registry.js';
export { Dispatcher } from './api/dispatcher.js';
export * from './api/keywords/index.js';
export { supervisor, dynamicSupervisor } from './supervisor/index.js';
export type { ChildSpec, Strategy, RestartType, SupervisorOutput, SupervisorReport, StopCause } from './supervisor/index.js';
export { zmqSocket } from './actors/zmq-socket.js';
export type { ZmqSocketConfig, ZmqOwnerEvent, ZmqCommand } from './actors/zmq-socket.js';
export { Metrics } from './metrics/registry.js';
export { createLogger } from './log.js';
export * from './security/index.js';
export { LIMIT_HITS_METRIC } from './metrics/limits.js';
export type { LimitName } from './metrics/limits.js';
