export { KeywordClient, KeywordService, Keyword, service } from './client.js';
export type { ConnectionEvent, KeywordClientCurve, KeywordClientOptions, KeywordUpdate, MonitorOptions, Subscription, WaitOptions } from './client.js';
export {
  KeywordError,
  KeywordRejectedError,
  ServiceNotFoundError,
  RegistryUnavailableError,
  DispatcherUnavailableError,
  KeywordTimeoutError,
  KeywordClosedError,
} from './errors.js';
export type { KeywordErrorCode } from './errors.js';
export type { BinaryValue, KeywordDescriptor, KeywordInput, KeywordType } from '../../protocol/ktl-types.js';
