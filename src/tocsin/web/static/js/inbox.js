/**
 * The user's inbox over HTTP (`/v1/me/...`), authenticated with `Authorization: Bearer <jwt>`.
 * Every method resolves to the parsed JSON answer, or rejects with a TocsinError carrying the
 * server's `code` and the HTTP `status`. A 401 asks the application for a new token and retries
 * once.
 */

import { TocsinError } from "./errors.js";

export class Inbox {
  /**
   * @param {object} options
   * @param {string} options.url server base URL, without a trailing slash
   * @param {import("./token.js").TokenSource} options.tokens
   * @param {typeof fetch} options.fetch
   */
  constructor({ url, tokens, fetch }) {
    this._url = url;
    this._tokens = tokens;
    this._fetch = fetch;
  }

  /**
   * A page of notifications, newest first: `{items, next_cursor, counts}`.
   * @param {{cursor?: string | null, limit?: number, unread?: boolean}} [options]
   */
  async list({ cursor, limit, unread } = {}) {
    const query = new URLSearchParams();
    if (cursor != null && cursor !== "") query.set("cursor", String(cursor));
    if (limit != null) query.set("limit", String(limit));
    if (unread) query.set("unread", "true");
    const search = query.toString();
    return this.request("GET", "/v1/me/notifications" + (search ? "?" + search : ""));
  }

  /** `{unread, unseen}` */
  async counts() {
    return this.request("GET", "/v1/me/counts");
  }

  /** @param {string} id */
  async markRead(id) {
    return this.request("POST", `/v1/me/notifications/${itemId(id)}/read`);
  }

  /** @param {string} id */
  async markUnread(id) {
    return this.request("POST", `/v1/me/notifications/${itemId(id)}/unread`);
  }

  /** @param {string} id */
  async markSeen(id) {
    return this.request("POST", `/v1/me/notifications/${itemId(id)}/seen`);
  }

  async markAllRead() {
    return this.request("POST", "/v1/me/notifications/read-all");
  }

  async markAllSeen() {
    return this.request("POST", "/v1/me/notifications/seen-all");
  }

  /** @param {string} id */
  async dismiss(id) {
    return this.request("DELETE", `/v1/me/notifications/${itemId(id)}`);
  }

  async clearAll() {
    return this.request("DELETE", "/v1/me/notifications");
  }

  /**
   * @param {string} method
   * @param {string} path
   * @returns {Promise<any>}
   */
  async request(method, path) {
    let response = await this._send(method, path, await this._tokens.current());
    if (response.status === 401) {
      response = await this._send(method, path, await this._tokens.refresh());
    }
    return readJson(response);
  }

  async _send(method, path, token) {
    try {
      return await this._fetch(this._url + path, {
        method,
        headers: { Authorization: "Bearer " + token, Accept: "application/json" },
        cache: "no-store",
      });
    } catch (err) {
      throw new TocsinError("network_error", `${method} ${path} failed: ${messageOf(err)}`, {
        cause: err,
      });
    }
  }
}

/**
 * The JSON body of a response; a TocsinError with the server's `{code, message}` on non-2xx.
 * @param {Response} response
 */
export async function readJson(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const code = typeof body?.code === "string" ? body.code : `http_${response.status}`;
    const message = typeof body?.message === "string" ? body.message : `HTTP ${response.status}`;
    throw new TocsinError(code, message, { status: response.status });
  }
  if (body === null) {
    throw new TocsinError("bad_response", "The server's answer is not JSON.", {
      status: response.status,
    });
  }
  return body;
}

function itemId(id) {
  if (typeof id !== "string" || id === "") throw new TypeError("tocsin: an item id is a string");
  return encodeURIComponent(id);
}

function messageOf(err) {
  return err instanceof Error ? err.message : String(err);
}
