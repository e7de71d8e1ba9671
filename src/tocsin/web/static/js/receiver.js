/**
 * What the client does with each envelope, whatever carried it (a transport, or the leader tab
 * relaying one), as plain code without I/O.
 *
 * Resume rules (docs/protocol.md):
 * - `ready` without `after`: the cursor becomes `ready.seq`.
 * - `ready` with `after`: the replay follows; the cursor moves with each notification and
 *   becomes `resumed.seq` at the end. A `ready.seq` below the cursor means the server's stream
 *   restarted (the cursor is stale): the cursor drops to `ready.seq`. A `ready.user` other than
 *   the cursor's starts a new cursor at `ready.seq` (the replay is then skipped).
 * - A notification whose seq is not above the cursor, or whose id was already shown, is a
 *   repeat and is dropped; so `notification` events come once each, in seq order.
 * - `position` is the client's own envelope (long-polling's `cursor` and `counts`).
 *
 * Counts come from the server (ready, state frames, poll answers, HTTP answers); a live
 * notification newer than the server's last count adds itself (+1 unread when not read, +1
 * unseen when not seen), since notification frames carry no counts. They are emitted only when
 * they change, and a read-state change only once (the echo of a local action, or the same
 * change relayed by two tabs, is dropped).
 */

import { Dedupe } from "./cursor.js";
import { TocsinError } from "./errors.js";

/** Error frames that only announce a close the connection handles (token refresh). */
const QUIET_ERRORS = new Set(["invalid_token", "token_expired", "auth_required", "auth_timeout"]);

export class Receiver {
  /**
   * @param {object} options
   * @param {import("./cursor.js").Cursor} options.cursor
   * @param {(event: string, value: unknown) => void} options.emit
   * @param {number} [options.remember] how many notification ids and changes to remember
   */
  constructor({ cursor, emit, remember = 1000 }) {
    this.cursor = cursor;
    this._emit = emit;
    this._ids = new Dedupe(remember);
    this._changes = new Dedupe(remember);
    /** @type {{unread: number, unseen: number} | null} */
    this.counts = null;
    /** The seq up to which `counts` includes every notification (null: unknown). */
    this.countedTo = null;
  }

  /**
   * Apply one envelope.
   * @param {any} env an envelope: `{type, ...}`
   * @param {{sentAfter: boolean}} context whether the connection that carried it sent a cursor
   */
  handle(env, { sentAfter }) {
    if (env === null || typeof env !== "object") return undefined;
    switch (env.type) {
      case "ready":
        return this._ready(env, sentAfter);
      case "notification":
        return this._notification(env);
      case "resumed":
        this.cursor.advance(env.seq);
        return undefined;
      case "state": {
        const { type: _type, ...change } = env;
        return this.applyChange(change);
      }
      case "position":
        this.cursor.advance(env.seq);
        if (env.counts) this.applyCounts(env.counts, env.seq);
        return undefined;
      case "error":
        if (!QUIET_ERRORS.has(env.code)) {
          this._emit("error", new TocsinError(String(env.code), String(env.message ?? "")));
        }
        return undefined;
      default:
        return undefined; // ping, pong, and types this version does not know
    }
  }

  /**
   * A read-state change `{action, ids, all, at, counts}` (a `state` frame, or the answer to a
   * local action): emitted once, with its counts.
   * @param {import("./tocsin").Change} change
   * @returns {boolean} whether it was new
   */
  applyChange(change) {
    const key = [change.action, change.all, (change.ids ?? []).join("\u0000"), change.at].join("|");
    if (!this._changes.add(key)) return false;
    this._emit("change", change);
    if (change.counts) this.applyCounts(change.counts);
    return true;
  }

  /**
   * New counts: emitted when they differ from the last ones.
   * @param {{unread: number, unseen: number}} counts
   * @param {number | null} [countedTo] the stream position they were counted at, when known
   * @returns {boolean} whether they changed
   */
  applyCounts(counts, countedTo = null) {
    if (Number.isSafeInteger(countedTo)) this.countedTo = countedTo;
    const next = { unread: counts.unread, unseen: counts.unseen };
    if (this.counts && this.counts.unread === next.unread && this.counts.unseen === next.unseen) {
      return false;
    }
    this.counts = Object.freeze(next);
    this._emit("counts", this.counts);
    return true;
  }

  _ready(env, sentAfter) {
    const cursor = this.cursor;
    if (env.user !== cursor.user) {
      cursor.reset(env.user, env.seq); // first visit, or another user: start at the live edge
    } else if (!sentAfter || cursor.seq === null || env.seq < cursor.seq) {
      cursor.set(env.seq);
    }
    if (env.counts) this.applyCounts(env.counts, env.seq);
  }

  _notification(env) {
    const item = env.notification;
    const seq = env.seq ?? item?.seq;
    if (!item || typeof item.id !== "string") return;
    if (this.cursor.seq !== null && seq <= this.cursor.seq) return;
    this.cursor.advance(seq);
    if (!this._ids.add(item.id)) return;
    this._emit("notification", item);
    this._count(item, seq);
  }

  /** A live notification the last counts do not include yet. */
  _count(item, seq) {
    if (this.counts === null || this.countedTo === null || !(seq > this.countedTo)) return;
    this.countedTo = seq;
    const live = item.archived_at == null;
    this.applyCounts({
      unread: this.counts.unread + (live && item.read_at == null ? 1 : 0),
      unseen: this.counts.unseen + (live && item.seen_at == null ? 1 : 0),
    });
  }
}
