/**
 * The items the notification center has loaded, kept in step with the server: pages from
 * `list()`, live notifications, and read-state changes (`change` events, local or from any
 * tab or device). Pure state, no DOM.
 */

import { toMillis } from "./format.js";

export class Feed {
  constructor() {
    /** @type {Map<string, any>} */
    this._items = new Map();
    /** The `next_cursor` for older items; null when there are none. */
    this.cursor = null;
    /** Whether a first page arrived. */
    this.loaded = false;
  }

  /** Whether older items may exist on the server. */
  get hasMore() {
    return this.loaded && this.cursor !== null;
  }

  /** How many items are held (archived ones are dropped). */
  get size() {
    return this._items.size;
  }

  /** @param {string} id */
  get(id) {
    return this._items.get(id);
  }

  /**
   * Take a page from `list()`.
   * With `refresh` (the newest page fetched again, e.g. after a reconnect) items in the page's
   * range that the page no longer has were archived or expired meanwhile, and are dropped.
   * @param {{items: any[], next_cursor: string | null}} page
   * @param {{older?: boolean, refresh?: boolean}} [options] `older`: a page after `cursor`
   */
  addPage(page, { older = false, refresh = false } = {}) {
    const items = Array.isArray(page?.items) ? page.items.filter(isItem) : [];
    if (refresh) {
      const present = new Set(items.map((item) => item.id));
      const oldest = page.next_cursor === null ? -Infinity : Math.min(...items.map((item) => item.seq));
      for (const [id, held] of this._items) {
        if (held.seq >= oldest && !present.has(id)) this._items.delete(id);
      }
    }
    for (const item of items) this._items.set(item.id, { ...item });
    if (older || !this.loaded) this.cursor = page?.next_cursor ?? null;
    this.loaded = true;
  }

  /**
   * Add a live notification.
   * @returns {boolean} whether it was new
   */
  add(item) {
    if (!isItem(item) || this._items.has(item.id) || item.archived_at) return false;
    this._items.set(item.id, { ...item });
    return true;
  }

  /**
   * Apply a read-state change `{action, ids, all, at}`; `ids: null` covers every item created
   * up to `at` (a notification that arrived later is not part of a "mark all").
   * @returns {string[]} ids of the held items it touched
   */
  apply(change) {
    if (!change || typeof change.action !== "string") return [];
    const at = change.at ?? new Date().toISOString();
    const when = toMillis(at) ?? Infinity;
    const touched = [];
    const targets = Array.isArray(change.ids)
      ? change.ids.map((id) => this._items.get(id)).filter(Boolean)
      : [...this._items.values()].filter((item) => (toMillis(item.created_at) ?? 0) <= when);
    for (const item of targets) {
      // Items are replaced, never changed in place: a view may compare them by identity.
      switch (change.action) {
        case "seen":
          this._items.set(item.id, { ...item, seen_at: item.seen_at ?? at });
          break;
        case "read":
          this._items.set(item.id, { ...item, read_at: item.read_at ?? at, seen_at: item.seen_at ?? at });
          break;
        case "unread":
          this._items.set(item.id, { ...item, read_at: null });
          break;
        case "archived":
          this._items.delete(item.id);
          break;
        default:
          continue; // an action from a newer server
      }
      touched.push(item.id);
    }
    return touched;
  }

  /**
   * Held items to show at `now`, newest first (expired ones left out).
   * @param {number} now
   */
  visible(now) {
    return [...this._items.values()]
      .filter((item) => {
        const expires = toMillis(item.expires_at);
        return expires === null || expires > now;
      })
      .sort((a, b) => b.seq - a.seq);
  }

  /** Forget everything (another user, another server). */
  clear() {
    this._items.clear();
    this.cursor = null;
    this.loaded = false;
  }
}

function isItem(item) {
  return item !== null && typeof item === "object" && typeof item.id === "string" && Number.isFinite(item.seq);
}
