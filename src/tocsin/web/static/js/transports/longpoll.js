/**
 * The long-polling transport: `GET {url}/v1/poll?after=<cursor>&timeout=25` with
 * `Authorization: Bearer <jwt>`, in a loop. Each answer is
 * `{messages: [envelopes], cursor, counts}`; the next poll starts at once with its cursor.
 * The answer's cursor and counts are passed on as the client's own `position` envelope.
 */

import { Transport, errorBody, retryable } from "./base.js";

/** Seconds the server may hold a poll. */
export const POLL_SECONDS = 25;
/** Extra time allowed for an answer before the request is aborted. */
const GRACE_MS = 15_000;

export class LongPollTransport extends Transport {
  /** @param {{fetch?: unknown}} options */
  static available({ fetch }) {
    return typeof fetch === "function";
  }

  /**
   * @param {{url: string, clock: import("../clock.js").Clock, fetch: typeof fetch}} options
   */
  constructor({ url, clock, fetch }) {
    super({ url, clock });
    this.name = "longpoll";
    this.watchSilence = false; // each poll has its own deadline
    this._fetch = fetch;
    this._abort = null;
    this._after = null;
    this._token = "";
  }

  /** @param {{cursor: number | null, token: string}} options */
  connect({ cursor, token }) {
    this._after = cursor;
    this._token = token;
    this._loop();
  }

  async _loop() {
    // The first poll answers at once (timeout=0) so the stream opens without waiting.
    let wait = 0;
    while (!this.closed && (await this._poll(wait))) wait = POLL_SECONDS;
  }

  /** One request; false when the loop must stop. */
  async _poll(wait) {
    const query = "timeout=" + wait + (this._after != null ? "&after=" + this._after : "");
    const abort = typeof AbortController === "function" ? new AbortController() : null;
    this._abort = abort;
    const timer = this.clock.setTimeout(() => abort?.abort(), wait * 1000 + GRACE_MS);
    let response;
    let body;
    try {
      response = await this._fetch(this.url + "/v1/poll?" + query, {
        headers: { Authorization: "Bearer " + this._token, Accept: "application/json" },
        cache: "no-store",
        signal: abort?.signal,
      });
      body = response.ok ? await response.json() : null;
    } catch (err) {
      this.clock.clearTimeout(timer);
      this._fail({ reason: "poll failed: " + String(err) });
      return false;
    }
    this.clock.clearTimeout(timer);
    if (this.closed) return false;
    if (response.status === 401) {
      this._fail({ action: "auth", code: 401, reason: "token refused" });
      return false;
    }
    if (!response.ok) {
      const error = await errorBody(response);
      const status = response.status;
      const action = retryable(status) ? "retry" : "error";
      this._fail({
        action,
        code: status,
        reason: error.message,
        connectFailure: status === 404,
        error,
      });
      return false;
    }
    if (!Array.isArray(body?.messages) || !Number.isSafeInteger(body.cursor)) {
      this._fail({ reason: "malformed poll answer", code: response.status });
      return false;
    }
    for (const env of body.messages) {
      this._receive(env);
      if (this.closed) return false;
    }
    this._after = body.cursor;
    this._receive({ type: "position", seq: body.cursor, counts: body.counts ?? null });
    return !this.closed;
  }

  _teardown() {
    this._abort?.abort();
  }
}
