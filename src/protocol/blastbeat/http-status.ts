/**
 * Why a request or response is refused, and the status a client reads for
 * it. The reasons double as drop-counter labels, so they are stable names.
 */

export const REQUEST_ERRORS = {
  bad_request_line: 400,
  bad_method: 400,
  bad_target: 400,
  bad_header: 400,
  missing_host: 400,
  duplicate_host: 400,
  bad_content_length: 400,
  ambiguous_length: 400,
  bad_chunk: 400,
  bad_websocket_handshake: 400,
  body_too_large: 413,
  head_too_large: 431,
  too_many_headers: 431,
  unsupported_method: 501,
  unsupported_transfer_encoding: 501,
  unsupported_version: 505,
} as const;

export type RequestErrorReason = keyof typeof REQUEST_ERRORS;

/** Statuses the gateway itself answers with. */
export type GatewayStatus = 400 | 404 | 408 | 413 | 431 | 500 | 501 | 502 | 503 | 504 | 505;

export const STATUS_TEXT: Readonly<Record<GatewayStatus, string>> = {
  400: 'Bad Request',
  404: 'Not Found',
  408: 'Request Timeout',
  413: 'Content Too Large',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

export function statusOfRequestError(reason: RequestErrorReason): GatewayStatus {
  return REQUEST_ERRORS[reason];
}

/**
 * A complete plain-text response from the gateway. `close` adds
 * `Connection: close`: the gateway closes after errors it cannot recover
 * from (a malformed request leaves the stream position unknown).
 */
export function gatewayResponse(status: GatewayStatus, message: string, close: boolean): Buffer {
  const body = `${status} ${STATUS_TEXT[status]}: ${message}\n`;
  const head =
    `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\n` +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    (close ? 'Connection: close\r\n' : '') +
    'Server: steward-gateway\r\n' +
    '\r\n';
  return Buffer.from(head + body, 'utf8');
}
