/** A socket adapter's graceful close: its queue drains (bounded by its linger, 1 s) before it ends. */
export const SOCKET_SHUTDOWN_MS = 1_500;
