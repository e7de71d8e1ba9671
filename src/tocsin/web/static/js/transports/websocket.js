/**
 * The WebSocket transport (`{url}/v1/ws`, docs/protocol.md): the token goes in the first
 * message, never in the URL; server pings are answered; close codes decide what comes next.
 */

import { Transport, parseEnvelope } from "./base.js";

/** Get a new token and reconnect. */
const AUTH_CODES = new Set([4001, 4003]);
/** The client broke the protocol: report it (then back off and reconnect). */
const ERROR_CODES = new Set([1002, 1003, 1007, 1009, 4000]);
/** Codes of a connection that never worked: a proxy or network refusing WebSockets. */
const UNREACHABLE_CODES = new Set([1001, 1005, 1006, 1015]);

/**
 * What a close code asks of the client.
 * @param {number} code
 * @returns {"auth" | "retry" | "error"}
 */
export function closeAction(code) {
  if (AUTH_CODES.has(code)) return "auth";
  if (ERROR_CODES.has(code)) return "error";
  return "retry"; // 1011, 1012, 4002, 4008, 4010, 4029, 1006...: back off, resume
}

export class WebSocketTransport extends Transport {
  /** @param {{WebSocket?: unknown}} options */
  static available({ WebSocket }) {
    return typeof WebSocket === "function";
  }

  /**
   * @param {{url: string, clock: import("../clock.js").Clock, WebSocket: any}} options
   */
  constructor({ url, clock, WebSocket }) {
    super({ url, clock });
    this.name = "websocket";
    this._WebSocket = WebSocket;
    this._ws = null;
  }

  /** @param {{cursor: number | null, token: string}} options */
  connect({ cursor, token }) {
    this._starting();
    let ws;
    try {
      ws = new this._WebSocket(this.url.replace(/^http/, "ws") + "/v1/ws");
    } catch (err) {
      // e.g. a SecurityError (mixed content): this transport cannot work here.
      queueMicrotask(() => this._fail({ reason: String(err), connectFailure: true }));
      return;
    }
    this._ws = ws;
    ws.onopen = () => {
      this._send(cursor == null ? { type: "auth", token } : { type: "auth", token, after: cursor });
    };
    ws.onmessage = (event) => this._receive(parseEnvelope(event.data));
    ws.onerror = () => {}; // a close event always follows
    ws.onclose = (event) => this._closed(event.code, event.reason ?? "");
  }

  _closed(code, reason) {
    const action = closeAction(code);
    this._fail({
      action,
      code,
      reason,
      connectFailure: !this.opened && UNREACHABLE_CODES.has(code),
      error:
        action === "error"
          ? { code: "connection_closed", message: `WebSocket closed with ${code} ${reason}`.trim() }
          : null,
    });
  }

  _pong() {
    this._send({ type: "pong" });
  }

  _send(message) {
    try {
      this._ws?.send(JSON.stringify(message));
    } catch {
      // closing already: the close event will follow
    }
  }

  _teardown() {
    const ws = this._ws;
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
    if (ws.readyState === 0 || ws.readyState === 1) {
      try {
        ws.close(1000);
      } catch {
        // already gone
      }
    }
  }
}
