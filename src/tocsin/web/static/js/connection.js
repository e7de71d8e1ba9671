/**
 * One live stream to the server, kept alive: it picks a transport, reconnects with backoff,
 * refreshes the token when the server refuses it, falls back to the next transport when one
 * cannot connect here, and while on a worse transport tries the better ones again now and then,
 * switching without losing or repeating anything (both streams resume from the same cursor and
 * the receiver drops repeats).
 */

import { Backoff } from "./backoff.js";
import { TocsinError, asTocsinError } from "./errors.js";
import { States } from "./states.js";
import { jwtSubject } from "./token.js";

/** Connect failures in a row before moving to the next transport. */
const FALLBACK_AFTER = Object.freeze({ websocket: 2, sse: 1, longpoll: 2 });
/** A connection open this long is stable: the backoff starts over. */
export const STABLE_MS = 10_000;
/** How often (± 25 %) a better transport is tried again. */
export const UPGRADE_MS = 60_000;

export class Connection {
  /**
   * @param {object} options
   * @param {string[]} options.order transport names, best first
   * @param {(name: string) => import("./transports/base.js").Transport} options.create
   * @param {import("./token.js").TokenSource} options.tokens
   * @param {import("./cursor.js").Cursor} options.cursor
   * @param {import("./clock.js").Clock} options.clock
   * @param {(env: any, context: {sentAfter: boolean}) => void} options.onEnvelope
   * @param {(state: string) => void} options.onState CONNECTING or CONNECTED
   * @param {(name: string) => void} options.onTransport the transport of the live stream
   * @param {(error: TocsinError) => void} options.onError
   */
  constructor(options) {
    this._o = options;
    this._clock = options.clock;
    this._backoff = new Backoff({ random: options.clock.random });
    this._index = 0;
    this._failures = 0; // connect failures in a row on the current transport
    this._authFailures = 0; // refused tokens in a row
    this._running = false;
    this._run = 0; // bumped by stop(): late async results of an older run are dropped
    this._current = null;
    this._probe = null;
    this._timers = { retry: null, stable: null, upgrade: null };
  }

  /** Start connecting, best transport first (no-op when running). */
  start() {
    if (this._running) return;
    this._running = true;
    this._run += 1;
    this._index = 0;
    this._failures = 0;
    this._attempt();
  }

  /** Close everything; no callback follows. */
  stop() {
    if (!this._running) return;
    this._running = false;
    this._run += 1;
    for (const name of Object.keys(this._timers)) this._clear(name);
    this._current?.close();
    this._probe?.close();
    this._current = this._probe = null;
  }

  async _attempt() {
    const run = this._run;
    this._o.onState(States.CONNECTING);
    const token = await this._token(run);
    if (token === null) return;
    const name = this._o.order[this._index];
    this._o.cursor.forUser(jwtSubject(token));
    const transport = this._o.create(name);
    this._current = transport;
    this._wire(transport, token, {
      open: () => this._opened(transport),
      close: (info) => this._closed(transport, info),
    });
  }

  /** A fresh token, or null when this run is over (a failure schedules the retry). */
  async _token(run) {
    try {
      const token = await this._o.tokens.refresh();
      return run === this._run ? token : null;
    } catch (err) {
      if (run !== this._run) return null;
      this._o.onError(asTocsinError(err, "token_error"));
      this._retry(this._backoff.next());
      return null;
    }
  }

  _wire(transport, token, { open, close }) {
    const cursor = this._o.cursor.seq;
    const context = Object.freeze({ sentAfter: cursor !== null });
    transport.onEnvelope = (env) => this._o.onEnvelope(env, context);
    transport.onOpen = open;
    transport.onClose = close;
    transport.connect({ cursor, token });
  }

  _opened(transport) {
    if (transport !== this._current) return;
    this._failures = 0;
    this._authFailures = 0;
    this._o.onTransport(transport.name);
    this._o.onState(States.CONNECTED);
    this._set("stable", STABLE_MS, () => this._backoff.reset());
    this._scheduleUpgrade();
  }

  _closed(transport, info) {
    if (transport !== this._current) return;
    this._current = null;
    this._clear("stable");
    this._clear("upgrade");
    this._probe?.close();
    this._probe = null;
    this._o.onState(States.CONNECTING);
    this._retry(this._delayAfter(transport.name, info));
  }

  /** How long to wait before the next attempt, and on which transport. */
  _delayAfter(name, info) {
    if (info.action === "auth") {
      this._authFailures += 1;
      if (this._authFailures === 1) return 0; // a fresh token usually fixes it: at once
      this._o.onError(
        new TocsinError("unauthorized", "The server refused the token from token()."),
      );
      return this._backoff.next();
    }
    if (info.action === "error" && info.error) {
      this._o.onError(new TocsinError(info.error.code, info.error.message));
    }
    if (info.connectFailure) {
      this._failures += 1;
      const last = this._index >= this._o.order.length - 1;
      if (!last && this._failures >= (FALLBACK_AFTER[name] ?? Infinity)) {
        this._index += 1;
        this._failures = 0;
        return 0;
      }
    }
    return this._backoff.next();
  }

  _retry(delay) {
    this._set("retry", delay, () => this._attempt());
  }

  // Upgrading: while on a worse transport, try the better ones again.

  _scheduleUpgrade() {
    if (this._index === 0) return;
    const delay = UPGRADE_MS * (0.75 + 0.5 * this._clock.random());
    this._set("upgrade", delay, () => this._tryUpgrade(0));
  }

  async _tryUpgrade(index) {
    if (!this._running || this._current === null || !this._current.opened) return;
    if (index >= this._index) {
      this._scheduleUpgrade(); // none of the better ones works yet
      return;
    }
    const run = this._run;
    let token;
    try {
      token = await this._o.tokens.refresh();
    } catch {
      this._scheduleUpgrade();
      return;
    }
    if (run !== this._run || this._current === null) return;
    const probe = this._o.create(this._o.order[index]);
    this._probe = probe;
    this._wire(probe, token, {
      open: () => this._promote(probe, index),
      close: () => {
        if (probe !== this._probe) return;
        this._probe = null;
        this._tryUpgrade(index + 1);
      },
    });
  }

  /** The probe works: it becomes the connection, the old one is closed. */
  _promote(probe, index) {
    if (probe !== this._probe) return;
    this._probe = null;
    this._current?.close();
    this._current = probe;
    this._index = index;
    this._failures = 0;
    probe.onOpen = () => {};
    probe.onClose = (info) => this._closed(probe, info);
    this._o.onTransport(probe.name);
    this._scheduleUpgrade();
  }

  _set(name, delay, fn) {
    this._clear(name);
    this._timers[name] = this._clock.setTimeout(() => {
      this._timers[name] = null;
      fn();
    }, delay);
  }

  _clear(name) {
    if (this._timers[name] !== null) this._clock.clearTimeout(this._timers[name]);
    this._timers[name] = null;
  }
}
