/**
 * One HTTP exchange as plain functions over a session's context: reading and
 * routing a request head, forwarding it and its body to the node, and
 * writing the node's response with the framing the client expects. Called
 * from the session machine's actions; they issue commands through
 * `context.out` and never block or touch a socket.
 */
import { EMPTY } from '../../protocol/blastbeat/message.js';
import { CHUNK_END, chunkHeader, encodeChunk } from '../../protocol/blastbeat/chunked.js';
import { headerValue, type RequestHead } from '../../protocol/blastbeat/http-head.js';
import { gatewayResponse, statusOfRequestError, type GatewayStatus } from '../../protocol/blastbeat/http-status.js';
import { encodeRequest, peerVars } from '../../protocol/blastbeat/request-vars.js';
import { parseResponseHead, type ResponseHead } from '../../protocol/blastbeat/response.js';
import { isValidKey } from '../../protocol/blastbeat/websocket.js';
import type { SessionContext } from './session-context.js';
import type { RequestDecision, RouteToNode } from './session-types.js';

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n');
/** Chunks up to this size are framed in a copy (one small buffer); bigger ones are framed around, uncopied. */
const COPY_CHUNK_MAX = 1024;

function rejectEvent(status: GatewayStatus, reason: string, message: string, close: boolean): RequestDecision {
  return { type: 'http.reject', status, reason, message, close };
}

/**
 * The next request head, decided: forward it, upgrade it, or answer it here.
 * Undefined while the head is incomplete.
 */
export function readRequest(ctx: SessionContext): RequestDecision | undefined {
  const r = ctx.stream.readHead();
  if (r === undefined) return undefined;
  if (r.type === 'rejected') {
    return rejectEvent(statusOfRequestError(r.reason), r.reason, r.detail ?? r.reason.replace(/_/g, ' '), true);
  }
  const head = r.head;
  // Without a body to skip, the connection survives a refusal.
  const canContinue = head.keepAlive && head.body.kind === 'none' && head.upgrade === undefined;
  let key: string | undefined;
  if (head.upgrade === 'websocket') {
    key = headerValue(head, 'sec-websocket-key');
    if (head.method !== 'GET' || head.version !== '1.1' || !isValidKey(key) || headerValue(head, 'sec-websocket-version') !== '13') {
      return rejectEvent(400, 'bad_websocket_handshake', 'a WebSocket upgrade needs GET, HTTP/1.1, a valid Sec-WebSocket-Key and version 13', true);
    }
  }
  const route = ctx.route(head.host, ctx.node);
  switch (route.kind) {
    case 'unknown-host':
      return rejectEvent(404, 'unknown_host', `no virtual host "${head.host}" here`, !canContinue);
    case 'no-node':
      return rejectEvent(503, 'no_node', `no node of "${route.vhost}" is available`, !canContinue);
    case 'full':
      return rejectEvent(503, 'vhost_full', `"${route.vhost}" has its maximum of sessions`, !canContinue);
    case 'nodes-full':
      return rejectEvent(503, 'nodes_full', `every available node of "${route.vhost}" has its maximum of ${route.limit} sessions`, !canContinue);
    case 'node':
      break;
  }
  const packet = encodeRequest(head, ctx.peer, (ctx.peerVars ??= peerVars(ctx.peer)));
  if (!Buffer.isBuffer(packet)) return rejectEvent(431, 'uwsgi_too_large', 'request head too large to forward', true);
  if (key !== undefined) return { type: 'http.upgrade', head, route, packet, key };
  return { type: 'http.request', head, route, packet };
}

/** Binds the session to the route's node, telling the old node the session left it. */
export function bindTo(ctx: SessionContext, route: RouteToNode): void {
  if (ctx.node === route.node) return;
  if (ctx.node !== undefined) unbind(ctx);
  ctx.node = route.node;
  ctx.nodeId = route.id;
  ctx.vhost = route.vhost;
  ctx.timeoutMs = route.timeoutMs;
  ctx.endSent = false;
  ctx.out({ type: 'session.bind', node: route.node, vhost: route.vhost });
}

/** Tells the node the session is over (once) and releases the binding. */
export function unbind(ctx: SessionContext): void {
  if (ctx.node === undefined) return;
  sendEnd(ctx);
  ctx.out({ type: 'session.unbind', node: ctx.node, vhost: ctx.vhost ?? '' });
  ctx.node = undefined;
  ctx.nodeId = undefined;
}

export function sendEnd(ctx: SessionContext): void {
  if (ctx.nodeId === undefined || ctx.endSent) return;
  ctx.endSent = true;
  ctx.out({ type: 'backend.send', node: ctx.nodeId, kind: 'end', body: EMPTY });
}

export function toBackend(ctx: SessionContext, kind: 'uwsgi' | 'body' | 'websocket' | 'websocket-binary', body: Buffer): void {
  if (ctx.nodeId !== undefined) ctx.out({ type: 'backend.send', node: ctx.nodeId, kind, body });
}

/** Sends the head to the node and whatever of the body has arrived. */
export function forwardRequest(ctx: SessionContext, head: RequestHead, route: RouteToNode, packet: Buffer): void {
  bindTo(ctx, route);
  ctx.requests += 1;
  ctx.method = head.method;
  ctx.keepAlive = head.keepAlive && !ctx.clientEnded;
  ctx.chunkedBody = head.body.kind === 'chunked';
  ctx.response = undefined;
  ctx.headStarted = false;
  toBackend(ctx, 'uwsgi', packet);
  if (head.expectContinue && head.body.kind !== 'none') ctx.out({ type: 'conn.write', data: CONTINUE });
}

export type BodyOutcome = 'ok' | { readonly reason: 'bad_chunk' | 'body_too_large'; readonly detail: string };

/** Forwards buffered body pieces as `body` messages; a chunked body's end is an empty `body`. */
export function pumpBody(ctx: SessionContext): BodyOutcome {
  const stream = ctx.stream;
  while (stream.inBody) {
    const item = stream.readBody();
    if (item === undefined) break;
    if (item.kind === 'error') return item;
    if (item.kind === 'data') toBackend(ctx, 'body', item.data);
    else if (ctx.chunkedBody) toBackend(ctx, 'body', EMPTY);
  }
  return 'ok';
}

/** Writes a response the gateway makes itself. */
export function answer(ctx: SessionContext, status: GatewayStatus, reason: string, message: string, close: boolean): void {
  ctx.out({ type: 'conn.write', data: gatewayResponse(status, message, close) });
  ctx.out({ type: 'session.error', status, reason });
}

/** What a response head will do to the exchange, decided before anything is written. */
export type ResponsePlan =
  | { readonly kind: 'bad'; readonly reason: string }
  | { readonly kind: 'informational'; readonly headLength: number }
  | {
      readonly kind: 'started';
      readonly head: ResponseHead;
      /** The message holds the whole response. */
      readonly done: boolean;
      /** The connection must close once the response is out. */
      readonly close: boolean;
    };

/** Whether the connection must close after a response with these properties. */
function closesAfter(ctx: SessionContext, backendClose: boolean, framing: string): boolean {
  return !ctx.keepAlive || ctx.draining || ctx.clientEnded || ctx.stream.inBody || backendClose || framing === 'close';
}

/**
 * Reads a node's response head (from `headers`, or from a `body` sent first
 * by a backend that writes its response raw), deciding what it does to the
 * exchange before anything is written; `applyResponse` then writes it.
 */
export function planResponse(ctx: SessionContext, message: Buffer): ResponsePlan {
  let plan: ResponsePlan;
  const parsed = parseResponseHead(message, ctx.method);
  if (parsed.type === 'rejected') plan = { kind: 'bad', reason: parsed.reason };
  else if (parsed.informational) plan = { kind: 'informational', headLength: parsed.headLength };
  else {
    const framing = parsed.framing;
    const after = message.length - parsed.headLength;
    const done = framing.kind === 'none' || (framing.kind === 'length' && after >= framing.length);
    plan = { kind: 'started', head: parsed, done, close: done && closesAfter(ctx, parsed.close, framing.kind) };
  }
  return plan;
}

/**
 * Writes the head and the body bytes after it as one write. Bytes beyond a
 * Content-Length are dropped, never sent ahead of the next response.
 */
export function applyResponse(ctx: SessionContext, message: Buffer, plan: ResponsePlan): void {
  if (plan.kind === 'bad') {
    ctx.out({ type: 'session.drop', reason: plan.reason });
    return;
  }
  if (plan.kind === 'informational') {
    ctx.out({ type: 'conn.write', data: message.subarray(0, plan.headLength) });
    return;
  }
  const { headLength, framing } = plan.head;
  const after = message.length - headLength;
  const remaining = framing.kind === 'length' ? framing.length : 0;
  ctx.response = { framing: framing.kind, remaining, close: plan.head.close, done: plan.done };
  if (after === 0 || framing.kind === 'chunked' || framing.kind === 'close') {
    // Chunked or close-delimited bytes after the head are the backend's own, passed through.
    ctx.out({ type: 'conn.write', data: message });
    return;
  }
  const take = framing.kind === 'none' ? 0 : Math.min(after, remaining);
  ctx.out({ type: 'conn.write', data: take === after ? message : message.subarray(0, headLength + take) });
  if (take < after) ctx.out({ type: 'session.drop', reason: framing.kind === 'none' ? 'body_on_bodyless_response' : 'excess_response_bytes' });
  ctx.response.remaining -= take;
}

/** Whether this `body` or `chunk` completes the response in flight. */
export function completesResponse(ctx: SessionContext, kind: 'body' | 'chunk', data: Buffer): boolean {
  const r = ctx.response;
  if (r === undefined || r.done) return false;
  if (kind === 'chunk') return data.length === 0;
  return r.framing === 'length' && data.length >= r.remaining;
}

/** Whether the connection closes once the response in flight is complete. */
export function closesAfterResponse(ctx: SessionContext): boolean {
  const r = ctx.response;
  return r === undefined || closesAfter(ctx, r.close, r.framing);
}

/** A `body` or `chunk` after the head. */
export function continueResponse(ctx: SessionContext, kind: 'body' | 'chunk', data: Buffer): void {
  const response = ctx.response;
  if (response === undefined || response.done) {
    ctx.out({ type: 'session.drop', reason: 'late_response_bytes' });
    return;
  }
  if (kind === 'chunk') {
    if (data.length <= COPY_CHUNK_MAX) ctx.out({ type: 'conn.write', data: encodeChunk(data) });
    else {
      // A big chunk is not copied: its framing goes around it, and the connection writes the three as one writev.
      ctx.out({ type: 'conn.write', data: chunkHeader(data.length) });
      ctx.out({ type: 'conn.write', data });
      ctx.out({ type: 'conn.write', data: CHUNK_END });
    }
    if (data.length === 0) response.done = true;
    return;
  }
  if (response.framing === 'length') {
    const take = Math.min(data.length, response.remaining);
    if (take > 0) ctx.out({ type: 'conn.write', data: take === data.length ? data : data.subarray(0, take) });
    if (take < data.length) ctx.out({ type: 'session.drop', reason: 'excess_response_bytes' });
    response.remaining -= take;
    response.done = response.remaining === 0;
    return;
  }
  if (response.framing === 'none') {
    ctx.out({ type: 'session.drop', reason: 'body_on_bodyless_response' });
    return;
  }
  if (data.length > 0) ctx.out({ type: 'conn.write', data });
}
