/**
 * What every transport shares. A transport carries one stream of envelopes:
 *
 *     const t = new SomeTransport({url, clock, ...});
 *     t.onEnvelope = (env) => {};   // each server envelope, in order
 *     t.onOpen = ({heartbeat}) => {}; // the stream is live (after its first envelope)
 *     t.onClose = (info) => {};     // it ended by itself (never after close())
 *     t.connect({cursor, token});   // cursor: a seq or null
 *     t.close();
 *
 * `info` says what to do next: `{action, code, reason, connectFailure, error}` where action is
 * "auth" (get a new token, reconnect), "retry" (back off, reconnect and resume) or "error"
 * (report, back off); `connectFailure` is true when the transport itself seems unusable here
 * (it failed before its stream opened, e.g. a proxy refused the upgrade), which drives the
 * fallback to the next transport.
 */

/** Without an open stream after this long, the attempt counts as failed. */
export const CONNECT_TIMEOUT_MS = 15_000;
/** Error envelopes that mean "your token is bad" (the stream ends right after them). */
const AUTH_ERRORS = new Set(["invalid_token", "token_expired", "auth_required", "invalid_ticket"]);

export class Transport {
  /**
   * @param {{url: string, clock: import("../clock.js").Clock}} options
   */
  constructor({ url, clock }) {
    this.url = url;
    this.clock = clock;
    this.opened = false;
    this.closed = false;
    /** @type {(env: any) => void} */
    this.onEnvelope = () => {};
    /** @type {(info: {heartbeat?: number}) => void} */
    this.onOpen = () => {};
    /** @type {(info: CloseInfo) => void} */
    this.onClose = () => {};
    this._timer = null;
    this._silenceMs = 0;
    this._authError = false;
    /** Whether silence for two heartbeats ends the stream (not for polls, which pause). */
    this.watchSilence = true;
  }

  /** Stop for good; `onClose` is not called. */
  close() {
    if (this.closed) return;
    this.closed = true;
    this._disarm();
    this._teardown();
  }

  /** Subclasses release their socket or request here. */
  _teardown() {}

  /** Subclasses answer a server ping here (only the WebSocket can). */
  _pong() {}

  /** Start the connect timer. */
  _starting() {
    this._arm(CONNECT_TIMEOUT_MS, "connect_timeout");
  }

  /**
   * One envelope from the wire (already parsed; anything else is ignored).
   * @param {any} env
   */
  _receive(env) {
    if (this.closed || env === null || typeof env !== "object" || typeof env.type !== "string") {
      return;
    }
    if (env.type === "ping") this._pong();
    if (env.type === "ready" && env.heartbeat > 0 && this.watchSilence)
      this._silenceMs = 2000 * env.heartbeat;
    if (env.type === "error" && AUTH_ERRORS.has(env.code)) this._authError = true;
    this.onEnvelope(env);
    if (this.closed) return;
    if (!this.opened && env.type !== "error") {
      this.opened = true;
      this._disarm();
      this.onOpen({ heartbeat: env.heartbeat });
      if (this.closed) return;
    }
    // Liveness: the server sends something every heartbeat; two silent heartbeats = dead.
    if (this.opened && this._silenceMs > 0) this._arm(this._silenceMs, "heartbeat_timeout");
  }

  /**
   * End the stream by itself and tell the owner.
   * @param {Partial<CloseInfo>} info
   */
  _fail(info) {
    if (this.closed) return;
    this.closed = true;
    this._disarm();
    this._teardown();
    this.onClose({
      action: "retry",
      code: null,
      reason: "",
      connectFailure: false,
      error: null,
      ...info,
    });
  }

  _arm(ms, reason) {
    this._disarm();
    this._timer = this.clock.setTimeout(() => {
      this._timer = null;
      this._fail({ action: "retry", reason, connectFailure: !this.opened });
    }, ms);
  }

  _disarm() {
    if (this._timer !== null) this.clock.clearTimeout(this._timer);
    this._timer = null;
  }
}

/**
 * @typedef {object} CloseInfo
 * @property {"auth" | "retry" | "error"} action
 * @property {number | null} code WebSocket close code or HTTP status, when there is one
 * @property {string} reason
 * @property {boolean} connectFailure
 * @property {{code: string, message: string} | null} error what to report for action "error"
 */

/**
 * Parse a JSON text frame; null when it is not JSON.
 * @param {unknown} data
 */
export function parseEnvelope(data) {
  if (typeof data !== "string") return null;
  try {
    return JSON.parse(data);
  } catch {
    return null;
  }
}

/**
 * The `{code, message}` of an error answer, or a generic one.
 * @param {Response} response
 */
export async function errorBody(response) {
  try {
    const body = await response.json();
    if (typeof body?.code === "string") {
      return { code: body.code, message: String(body.message ?? "") };
    }
  } catch {
    // not JSON: fall through
  }
  return { code: `http_${response.status}`, message: `HTTP ${response.status}` };
}

/**
 * Whether an HTTP status is worth retrying (the server or the path is unwell, not the request).
 * @param {number} status
 */
export function retryable(status) {
  return status >= 500 || status === 408 || status === 429;
}
