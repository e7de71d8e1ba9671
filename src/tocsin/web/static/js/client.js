/**
 * The Tocsin client: live notifications, counts and read state for one user, plus the inbox
 * over HTTP. It composes the pieces: a Connection (transports, backoff, fallback), a Receiver
 * (resume rules, dedupe, counts), Tabs (one connection shared by the tabs) and an Inbox.
 */

import { systemClock } from "./clock.js";
import { Connection } from "./connection.js";
import { Cursor } from "./cursor.js";
import { Emitter } from "./emitter.js";
import { Inbox } from "./inbox.js";
import { Receiver } from "./receiver.js";
import { States, transition } from "./states.js";
import { Tabs } from "./tabs.js";
import { TokenSource, jwtSubject } from "./token.js";
import { DEFAULT_ORDER, TRANSPORTS } from "./transports/index.js";

const EVENTS = Object.freeze(["notification", "counts", "state", "change", "error"]);
/** Envelopes a leader does not relay (transport chatter). */
const UNRELAYED = new Set(["ping", "pong"]);

export class Tocsin {
  /**
   * @param {object} options see tocsin.d.ts (`TocsinOptions`)
   */
  constructor(options = {}) {
    const url = baseUrl(options.url);
    const env = {
      WebSocket: options.WebSocket ?? globalThis.WebSocket,
      EventSource: options.EventSource ?? globalThis.EventSource,
      fetch: callable(options.fetch ?? globalThis.fetch),
    };
    const clock = options.clock ?? systemClock;
    const order = transportOrder(options.transports ?? DEFAULT_ORDER, env);
    const tokens = new TokenSource(options.token);
    const storage = options.storage !== undefined ? options.storage : defaultStorage();

    this.url = url;
    this._emitter = new Emitter(EVENTS);
    /** @type {string} */
    this._state = States.DISCONNECTED;
    this._transport = null;
    this._active = false;
    this._cursor = new Cursor({ storage, url });
    this._receiver = new Receiver({
      cursor: this._cursor,
      emit: (event, value) => this._emitter.emit(event, value),
    });
    this._inbox = new Inbox({ url, tokens, fetch: env.fetch });
    this._connection = new Connection({
      order,
      create: (name) => new TRANSPORTS[name]({ url, clock, ...env }),
      tokens,
      cursor: this._cursor,
      clock,
      onEnvelope: (envelope, context) => this._fromServer(envelope, context),
      onState: (state) => this._leaderStatus(state, this._transport),
      onTransport: (name) => this._leaderStatus(this._state, name),
      onError: (error) => this._connectionError(error),
    });
    const BroadcastChannel = options.BroadcastChannel ?? globalThis.BroadcastChannel;
    this._tokens = tokens;
    this._tabs = null;
    // Tabs share a connection only with tabs of the same user: the channel is named after
    // the user (from `options.user`, or else the token's `sub` when connecting).
    this._makeTabs =
      options.shareTabs !== false && typeof BroadcastChannel === "function"
        ? (user) =>
            new Tabs({
              name: "tocsin:" + url + ":" + user,
              BroadcastChannel,
              locks:
                options.locks !== undefined ? options.locks : (globalThis.navigator?.locks ?? null),
              clock,
              onLeader: () => this._lead(),
              onFollower: () => this._follow(),
              onMessage: (message) => this._fromTab(message),
            })
        : null;
    if (this._makeTabs && options.user != null) this._shareWith(String(options.user));
  }

  /** Join the tabs of `user` (hear their inbox actions even before connect()). */
  _shareWith(user) {
    this._tabs = this._makeTabs(user);
    this._tabs.open();
  }

  /** The connection state: one of `States`. */
  get state() {
    return this._state;
  }

  /** The name of the transport in use ("websocket", "sse", "longpoll"), or null. */
  get transport() {
    return this._transport;
  }

  /** The latest `{unread, unseen}`, or null before the server told. */
  get counts() {
    return this._receiver.counts;
  }

  /** Whether this tab holds the connection (false in follower tabs). */
  get isLeader() {
    return this._tabs ? this._tabs.isLeader : this._active;
  }

  /**
   * Listen to `notification`, `counts`, `state`, `change` or `error`.
   * @param {string} event
   * @param {Function} fn
   * @returns {() => void} removes the listener
   */
  on(event, fn) {
    return this._emitter.on(event, fn);
  }

  /**
   * Stop listening.
   * @param {string} event
   * @param {Function} fn
   */
  off(event, fn) {
    this._emitter.off(event, fn);
  }

  /** Start receiving live (idempotent). With shared tabs only the leader tab connects. */
  connect() {
    if (this._active) return;
    this._active = true;
    this._setState(States.CONNECTING);
    if (this._tabs) {
      this._startTabs();
    } else if (this._makeTabs) {
      this._tokens.current().then(
        (token) => {
          if (!this._active || this._tabs) return;
          this._shareWith(jwtSubject(token) ?? "");
          this._startTabs();
        },
        () => this._active && !this._tabs && this._lead(), // the connection reports the error
      );
    } else {
      this._lead();
    }
  }

  _startTabs() {
    this._cursor.load(); // where this browser's tabs got to: older news is the inbox's
    this._tabs.start();
  }

  /**
   * Stop receiving live; another tab, if any, takes over the shared connection. Inbox actions
   * of other tabs still update `counts` and emit `change`.
   */
  disconnect() {
    if (!this._active) return;
    this._active = false;
    this._tabs?.stop();
    this._connection.stop();
    this._transport = null;
    this._setState(States.DISCONNECTED);
  }

  // Inbox (HTTP). Every method resolves to the parsed JSON answer or rejects with TocsinError.

  /**
   * A page of the inbox, newest first: `{items, next_cursor, counts}`.
   * @param {{cursor?: string | null, limit?: number, unread?: boolean}} [options]
   */
  async list(options) {
    const page = await this._inbox.list(options);
    if (page?.counts) this._localCounts(page.counts);
    return page;
  }

  /** Fetch `{unread, unseen}` (the `counts` property holds the latest ones). */
  async fetchCounts() {
    const counts = await this._inbox.counts();
    this._localCounts(counts);
    return counts;
  }

  /** @param {string} id */
  async markRead(id) {
    return this._localChange(await this._inbox.markRead(id));
  }

  /** @param {string} id */
  async markUnread(id) {
    return this._localChange(await this._inbox.markUnread(id));
  }

  /** @param {string} id */
  async markSeen(id) {
    return this._localChange(await this._inbox.markSeen(id));
  }

  /** Mark every item read. */
  async markAllRead() {
    return this._localChange(await this._inbox.markAllRead());
  }

  /** Mark every item seen. */
  async markAllSeen() {
    return this._localChange(await this._inbox.markAllSeen());
  }

  /** Archive one item. @param {string} id */
  async dismiss(id) {
    return this._localChange(await this._inbox.dismiss(id));
  }

  /** Archive every item. */
  async clearAll() {
    return this._localChange(await this._inbox.clearAll());
  }

  // Internals.

  _setState(next) {
    if (next === this._state) return;
    this._state = transition(this._state, next);
    this._emitter.emit("state", next);
  }

  _lead() {
    this._cursor.writable = true;
    this._connection.start();
  }

  _follow() {
    this._cursor.writable = false;
    this._connection.stop();
    if (this._active) this._setState(States.CONNECTING);
    this._tabs.post({ kind: "hello" });
  }

  _fromServer(envelope, context) {
    this._receiver.handle(envelope, context);
    if (this._tabs?.isLeader && !UNRELAYED.has(envelope.type)) {
      this._tabs.post({ kind: "envelope", envelope, sentAfter: context.sentAfter });
    }
  }

  _leaderStatus(state, transport) {
    if (!this._active) return;
    this._transport = transport;
    this._setState(state);
    this._announce();
  }

  _announce() {
    if (this._tabs?.isLeader) {
      this._tabs.post({
        kind: "status",
        state: this._state,
        transport: this._transport,
        counts: this._receiver.counts,
        countedTo: this._receiver.countedTo,
      });
    }
  }

  _connectionError(error) {
    this._emitter.emit("error", error);
    if (this._tabs?.isLeader) {
      this._tabs.post({ kind: "error", error: { code: error.code, message: error.message } });
    }
  }

  _fromTab(message) {
    const following = this._active && this._tabs && !this._tabs.isLeader;
    switch (message.kind) {
      case "envelope":
        if (following) this._receiver.handle(message.envelope, { sentAfter: message.sentAfter });
        break;
      case "status":
        if (following) {
          this._transport = message.transport;
          // A follower wants to be connected: a leader between streams means "connecting".
          this._setState(message.state === States.CONNECTED ? States.CONNECTED : States.CONNECTING);
          if (message.counts) this._receiver.applyCounts(message.counts, message.countedTo);
        }
        break;
      case "hello":
        if (this._tabs?.isLeader) this._announce();
        break;
      case "error":
        if (following) {
          this._receiver.handle({ type: "error", ...message.error }, { sentAfter: false });
        }
        break;
      case "change":
        this._receiver.applyChange(message.change);
        break;
      case "counts":
        this._receiver.applyCounts(message.counts);
        break;
      default:
        break; // from a newer version of the client
    }
  }

  _localChange(change) {
    this._receiver.applyChange(change);
    this._tabs?.post({ kind: "change", change });
    return change;
  }

  _localCounts(counts) {
    this._receiver.applyCounts(counts);
    this._tabs?.post({ kind: "counts", counts });
  }
}

/** The server base URL without a trailing slash; relative URLs resolve against the page. */
function baseUrl(url) {
  const base = globalThis.location?.href;
  if (url == null && !base) throw new TypeError("tocsin: the url option is required");
  const parsed = new URL(url ?? "/", base);
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new TypeError("tocsin: url must be an http(s) URL");
  }
  return (parsed.origin + parsed.pathname).replace(/\/+$/, "");
}

function transportOrder(names, env) {
  if (!Array.isArray(names) || names.length === 0) {
    throw new TypeError("tocsin: transports must be a non-empty array");
  }
  for (const name of names) {
    if (!Object.hasOwn(TRANSPORTS, name)) {
      throw new TypeError(`tocsin: unknown transport "${name}"`);
    }
  }
  const usable = [...new Set(names)].filter((name) => TRANSPORTS[name].available(env));
  if (usable.length === 0) {
    throw new TypeError(`tocsin: none of the transports ${names.join(", ")} works here`);
  }
  return usable;
}

/** Browsers refuse `fetch` called as a method of another object: call it bare. */
function callable(fetch) {
  return typeof fetch === "function" ? (input, init) => fetch(input, init) : undefined;
}

function defaultStorage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // access denied (sandboxed iframe, cookies disabled)
  }
}
