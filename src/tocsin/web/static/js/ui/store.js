/**
 * An inbox kept up to date for a view: the loaded items (newest first, also grouped), the
 * counts and the connection state of one Tocsin client, as immutable snapshots. It is what
 * `<tocsin-bell>` renders and what the React hook returns; any framework can use it:
 *
 *     const store = new InboxStore(tocsin);
 *     const off = store.subscribe(() => render(store.getSnapshot()));
 *     store.start(); tocsin.connect();
 *
 * `subscribe`/`getSnapshot` follow React's `useSyncExternalStore` contract (a new snapshot
 * object after each change, the same one otherwise). No DOM.
 */

import { Feed } from "./feed.js";
import { groupItems } from "./group.js";

/** Items fetched per page. */
export const PAGE_SIZE = 20;
/** When to fetch exact counts after live notifications: a delay plus random jitter. */
const COUNTS_DELAY_MS = 300;
const COUNTS_JITTER_MS = 1200;

const NO_COUNTS = Object.freeze({ unread: 0, unseen: 0 });

export class InboxStore {
  /**
   * @param {import("../tocsin").Tocsin} client
   * @param {{pageSize?: number, now?: () => number, random?: () => number}} [options]
   */
  constructor(client, { pageSize = PAGE_SIZE, now = Date.now, random = Math.random } = {}) {
    this.client = client;
    this._pageSize = pageSize;
    this._now = now;
    this._random = random;
    this._feed = new Feed();
    this._listeners = new Set();
    this._onNew = new Set();
    this._offs = [];
    this._running = false;
    this._generation = 0;
    this._loading = false;
    this._failed = null;
    this._counts = client.counts ?? NO_COUNTS;
    this._state = client.state;
    this._everConnected = false;
    this._countsTimer = null;
    this._snapshot = null;
    this._build();
    this.actions = Object.freeze({
      markRead: (ids) => this._each(ids, (id) => client.markRead(id)),
      markUnread: (ids) => this._each(ids, (id) => client.markUnread(id)),
      markSeen: (ids) => this._each(ids, (id) => client.markSeen(id)),
      dismiss: (ids) => this._each(ids, (id) => client.dismiss(id)),
      markAllRead: () => client.markAllRead(),
      markAllSeen: () => client.markAllSeen(),
      clearAll: () => client.clearAll(),
      loadMore: () => this.loadMore(),
      refresh: () => this.refresh(),
    });
  }

  /**
   * Be told after every change (no argument: read `getSnapshot()`).
   * @param {() => void} fn
   * @returns {() => void} unsubscribes
   */
  subscribe = (fn) => {
    this._listeners.add(fn);
    return () => this._listeners.delete(fn);
  };

  /** The current snapshot: `{items, groups, counts, state, loaded, loading, hasMore, error}`. */
  getSnapshot = () => this._snapshot;

  /**
   * Be told of each notification that is new to this inbox (not a repeat, not already read).
   * @param {(item: any) => void} fn
   * @returns {() => void}
   */
  onNew(fn) {
    this._onNew.add(fn);
    return () => this._onNew.delete(fn);
  }

  /** Follow the client and load the first page (the caller connects the client). */
  start() {
    if (this._running) return;
    this._running = true;
    const generation = ++this._generation;
    const live = (fn) => (value) => {
      if (generation === this._generation) fn(value);
    };
    const client = this.client;
    this._offs = [
      client.on("notification", live((item) => this._notification(item))),
      client.on("change", live((change) => this._change(change))),
      client.on("counts", live((counts) => this._setCounts(counts))),
      client.on("state", live((state) => this._setState(state))),
    ];
    if (client.counts) this._counts = client.counts;
    this._setState(client.state);
    this.refresh();
  }

  /** Stop following the client and forget what was loaded. */
  stop() {
    if (!this._running) return;
    this._running = false;
    this._generation += 1;
    for (const off of this._offs) off();
    this._offs = [];
    clearTimeout(this._countsTimer);
    this._feed.clear();
    this._loading = false;
    this._failed = null;
    this._everConnected = false;
    this._counts = NO_COUNTS;
    this._emit();
  }

  /** Fetch the newest page again (dropping what was archived meanwhile). */
  async refresh() {
    if (!this._running) return;
    const generation = this._generation;
    this._loading = true;
    this._failed = null;
    this._emit();
    try {
      const page = await this.client.list({ limit: this._pageSize });
      if (generation !== this._generation) return;
      this._feed.addPage(page, { refresh: this._feed.loaded });
    } catch (err) {
      if (generation !== this._generation) return;
      this._failed = err;
    }
    this._loading = false;
    this._emit();
  }

  /** Fetch the next older page, if any. @returns {Promise<boolean>} whether one arrived */
  async loadMore() {
    if (!this._running || this._loading || !this._feed.hasMore) return false;
    const generation = this._generation;
    this._loading = true;
    this._emit();
    try {
      const page = await this.client.list({ cursor: this._feed.cursor, limit: this._pageSize });
      if (generation !== this._generation) return false;
      this._feed.addPage(page, { older: true });
      return true;
    } catch (err) {
      if (generation !== this._generation) return false;
      throw err;
    } finally {
      if (generation === this._generation) {
        this._loading = false;
        this._emit();
      }
    }
  }

  /** Take a new snapshot (time passed: expired items leave, relative times move on). */
  tick() {
    this._emit();
  }

  /** @param {string} id */
  get(id) {
    return this._feed.get(id);
  }

  // Events from the client.

  _notification(item) {
    if (!this._feed.add(item)) return;
    const fresh = !item.read_at && !item.archived_at;
    if (fresh) this._countNew(item);
    this._emit();
    if (fresh) for (const fn of [...this._onNew]) fn(item);
  }

  /**
   * Notification frames carry no counts: bump them at once, then ask the server for the exact
   * numbers (a replayed notification may already be counted in the `ready` counts). The
   * request waits a little, with jitter, so a broadcast does not make every tab ask at once.
   */
  _countNew(item) {
    this._counts = Object.freeze({
      unread: this._counts.unread + 1,
      unseen: this._counts.unseen + (item.seen_at ? 0 : 1),
    });
    clearTimeout(this._countsTimer);
    const generation = this._generation;
    this._countsTimer = setTimeout(() => {
      if (generation === this._generation) this.client.fetchCounts().catch(() => undefined);
    }, COUNTS_DELAY_MS + this._random() * COUNTS_JITTER_MS);
  }

  _change(change) {
    this._feed.apply(change);
    this._emit();
  }

  _setCounts(counts) {
    this._counts = counts ?? NO_COUNTS;
    this._emit();
  }

  _setState(state) {
    const wasConnected = this._state === "connected";
    this._state = state;
    if (state === "connected") {
      // Back after a drop: what changed meanwhile (read or archived elsewhere) is not replayed.
      if (this._everConnected && !wasConnected && this._feed.loaded) this.refresh();
      this._everConnected = true;
    }
    this._emit();
  }

  _each(ids, act) {
    const list = Array.isArray(ids) ? ids : [ids];
    return Promise.all(list.map((id) => act(id)));
  }

  _build() {
    const items = this._feed.visible(this._now());
    this._snapshot = Object.freeze({
      items,
      groups: groupItems(items),
      counts: this._counts,
      state: this._state,
      loaded: this._feed.loaded,
      loading: this._loading,
      hasMore: this._feed.hasMore,
      error: this._failed,
      everConnected: this._everConnected,
    });
  }

  _emit() {
    this._build();
    for (const fn of [...this._listeners]) fn();
  }
}
