export { curveServer, resolveCurveClient, zapHandlerId } from './curve.js';
export type { CurveClientOptions, CurveServerOptions, CurveServerSetup, ResolvedCurveClient } from './curve.js';
export { derivePublicKey, formatKeyFile, generateKeyPair, loadKeyPair, parseKeyFile, resolvePublicKey, writeKeyFile } from './keys.js';
export type { CurveKeyPair } from './keys.js';
export { loadAllowList, parseAllowList } from './allow-list.js';
export { reloadAllowList } from './zap-handler.js';
export { AUTH_REFUSED_METRIC } from './refusals.js';
