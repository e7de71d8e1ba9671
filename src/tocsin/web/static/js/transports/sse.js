/**
 * The Server-Sent Events transport. EventSource cannot send headers, so the JWT buys a
 * single-use ticket (`POST {url}/v1/tickets`) and the stream is opened with
 * `{url}/v1/sse?ticket=...&last_event_id=<cursor>`. The ticket is spent on first use, so on any
 * error this transport closes the EventSource itself (no automatic reconnect with a spent
 * ticket) and the connection reconnects with a new ticket, resuming from the cursor.
 */

import { Transport, errorBody, parseEnvelope, retryable } from "./base.js";

/** Statuses of a server without SSE: try the next transport. */
const MISSING = new Set([404, 405, 501]);

export class SseTransport extends Transport {
  /** @param {{EventSource?: unknown, fetch?: unknown}} options */
  static available({ EventSource, fetch }) {
    return typeof EventSource === "function" && typeof fetch === "function";
  }

  /**
   * @param {object} options
   * @param {string} options.url
   * @param {import("../clock.js").Clock} options.clock
   * @param {any} options.EventSource
   * @param {typeof fetch} options.fetch
   */
  constructor({ url, clock, EventSource, fetch }) {
    super({ url, clock });
    this.name = "sse";
    this._EventSource = EventSource;
    this._fetch = fetch;
    this._source = null;
    this._heard = false;
  }

  /** @param {{cursor: number | null, token: string}} options */
  async connect({ cursor, token }) {
    this._starting();
    const ticket = await this._ticket(token);
    if (ticket === null || this.closed) return;
    let source;
    const query =
      "?ticket=" + encodeURIComponent(ticket) + (cursor != null ? "&last_event_id=" + cursor : "");
    try {
      source = new this._EventSource(this.url + "/v1/sse" + query);
    } catch (err) {
      this._fail({ reason: String(err), connectFailure: true });
      return;
    }
    this._source = source;
    source.onmessage = (event) => {
      this._heard = true;
      this._receive(parseEnvelope(event.data));
    };
    source.onerror = () => {
      this._fail({
        action: this._authError ? "auth" : "retry",
        reason: "event stream error",
        connectFailure: !this._heard,
      });
    };
  }

  async _ticket(token) {
    let response;
    try {
      response = await this._fetch(this.url + "/v1/tickets", {
        method: "POST",
        headers: { Authorization: "Bearer " + token, Accept: "application/json" },
        cache: "no-store",
      });
    } catch (err) {
      // The server is unreachable, which says nothing against SSE: retry, no fallback.
      this._fail({ reason: "ticket request failed: " + String(err) });
      return null;
    }
    if (this.closed) return null;
    const status = response.status;
    if (status === 401) {
      this._fail({ action: "auth", code: status, reason: "token refused" });
      return null;
    }
    if (!response.ok) {
      const error = await errorBody(response);
      const action = MISSING.has(status) || retryable(status) ? "retry" : "error";
      this._fail({
        action,
        code: status,
        reason: error.message,
        connectFailure: MISSING.has(status),
        error,
      });
      return null;
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (typeof body?.ticket !== "string") {
      this._fail({ reason: "no ticket in the answer", code: status });
      return null;
    }
    return body.ticket;
  }

  _teardown() {
    const source = this._source;
    if (!source) return;
    source.onmessage = source.onerror = null;
    source.close();
  }
}
