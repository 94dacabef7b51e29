/**
 * A session after its WebSocket handshake, as plain functions over the
 * session's context: client frames in, `websocket` / `websocket-binary`
 * messages to the node; the node's messages out as frames; ping answered,
 * close handshake performed, size limit enforced by the reader.
 */
import { CloseCode, encodeClose, encodeFrame, handshakeResponse, Opcode, WebSocketReader, type WebSocketLimits } from '../../protocol/blastbeat/websocket.js';
import { bindTo, toBackend } from './exchange.js';
import type { SessionContext } from './session-context.js';
import type { RequestDecision } from './session-types.js';

type Upgrade = Extract<RequestDecision, { type: 'http.upgrade' }>;

/** One limits object per configured size, shared by every WebSocket rather than one each. */
const readerLimits = new Map<number, WebSocketLimits>();
function limitsFor(maxMessageSize: number): WebSocketLimits {
  let limits = readerLimits.get(maxMessageSize);
  if (limits === undefined) {
    limits = { maxMessageSize };
    if (readerLimits.size < 16) readerLimits.set(maxMessageSize, limits);
  }
  return limits;
}

/** Answers the handshake, tells the node about the new WebSocket (its `uwsgi` head) and reads what already came. */
export function acceptWebSocket(ctx: SessionContext, event: Upgrade): void {
  bindTo(ctx, event.route);
  ctx.peerVars = undefined;
  ctx.requests += 1;
  ctx.method = 'GET';
  ctx.headStarted = false;
  toBackend(ctx, 'uwsgi', event.packet);
  ctx.out({ type: 'conn.write', data: handshakeResponse(event.key) });
  ctx.ws = new WebSocketReader(limitsFor(ctx.limits.maxWebSocketMessage));
  const rest = ctx.stream.takeRest();
  if (rest.length > 0) ctx.ws.push(rest);
}

export type WsOutcome = 'open' | 'closed' | 'failed';

/** Handles every complete frame buffered; stops at the client's close or a protocol error. */
export function pumpWebSocket(ctx: SessionContext): WsOutcome {
  const ws = ctx.ws;
  if (ws === undefined) return 'failed';
  for (;;) {
    const item = ws.read();
    if (item === undefined) return 'open';
    switch (item.kind) {
      case 'message':
        toBackend(ctx, item.binary ? 'websocket-binary' : 'websocket', item.data);
        break;
      case 'ping':
        ctx.out({ type: 'conn.write', data: encodeFrame(Opcode.Pong, item.data) });
        break;
      case 'pong':
        break;
      case 'close':
        // Echo the code (RFC 6455 5.5.1); a close without one is answered with a plain 1000.
        ctx.out({ type: 'conn.write', data: encodeClose(item.code ?? CloseCode.Normal) });
        return 'closed';
      case 'error':
        ctx.out({ type: 'conn.write', data: encodeClose(item.code, item.reason) });
        ctx.out({ type: 'session.error', status: 0, reason: `websocket_${item.code}` });
        return 'failed';
    }
  }
}

/** The node's message to the client. */
export function wsToClient(ctx: SessionContext, binary: boolean, body: Buffer): void {
  ctx.out({ type: 'conn.write', data: encodeFrame(binary ? Opcode.Binary : Opcode.Text, body) });
}

/** Starts the server side of the close handshake. */
export function wsClose(ctx: SessionContext, code: number, reason: string): void {
  ctx.out({ type: 'conn.write', data: encodeClose(code, reason) });
}

/** While closing: reads frames until the client's close answers ours. */
export function clientClosed(ctx: SessionContext): boolean {
  const ws = ctx.ws;
  if (ws === undefined) return true;
  for (;;) {
    const item = ws.read();
    if (item === undefined) return false;
    if (item.kind === 'close' || item.kind === 'error') return true;
  }
}
