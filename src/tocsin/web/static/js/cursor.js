/**
 * Where this browser is in a user's stream (the resume cursor) and which items it has shown.
 *
 * The cursor is the highest `seq` received, persisted as `{user, seq}` under a key per server
 * URL, so a reload resumes where the page left off. A cursor belongs to one user: another user
 * resets it. Only the tab holding the connection writes it (`writable`); other tabs keep theirs
 * in memory.
 */

const KEY_PREFIX = "tocsin:cursor:";

/**
 * The storage key of the cursor for a server URL.
 * @param {string} url
 */
export function cursorKey(url) {
  return KEY_PREFIX + url;
}

export class Cursor {
  /**
   * @param {{storage?: Storage | null, url: string}} options
   */
  constructor({ storage = null, url }) {
    this._storage = storage;
    this._key = cursorKey(url);
    /** @type {string | null} */
    this._user = null;
    /** @type {number | null} */
    this._seq = null;
    this.writable = true;
    this.load();
  }

  /** @returns {number | null} the highest seq received, or null on a first visit */
  get seq() {
    return this._seq;
  }

  /** @returns {string | null} the user the cursor belongs to */
  get user() {
    return this._user;
  }

  /** Read the persisted cursor again (a missing, foreign or malformed value counts as none). */
  load() {
    let saved = null;
    try {
      saved = JSON.parse(this._storage?.getItem(this._key) ?? "null");
    } catch {
      saved = null; // storage disabled, or not our JSON
    }
    const valid =
      saved !== null &&
      typeof saved === "object" &&
      (saved.user === null || typeof saved.user === "string") &&
      (saved.seq === null || (Number.isSafeInteger(saved.seq) && saved.seq >= 0));
    this._user = valid ? saved.user : null;
    this._seq = valid ? saved.seq : null;
  }

  /**
   * Make the cursor `user`'s: a cursor of another user is dropped. `null` (unknown) keeps it.
   * @param {string | null} user
   */
  forUser(user) {
    if (user != null && user !== this._user) this.reset(user);
  }

  /**
   * Start over for `user`, optionally at `seq`.
   * @param {string | null} user
   * @param {number | null} [seq]
   */
  reset(user, seq = null) {
    this._user = user;
    this._seq = seq;
    this._save();
  }

  /**
   * Move forward to `seq` (never back).
   * @param {number} seq
   * @returns {boolean} whether the cursor moved
   */
  advance(seq) {
    if (!Number.isSafeInteger(seq) || (this._seq !== null && seq <= this._seq)) return false;
    this._seq = seq;
    this._save();
    return true;
  }

  /**
   * Put the cursor at `seq`, even backwards (the server's stream position is the truth).
   * @param {number} seq
   */
  set(seq) {
    if (!Number.isSafeInteger(seq)) return;
    this._seq = seq;
    this._save();
  }

  _save() {
    if (!this.writable || !this._storage) return;
    try {
      this._storage.setItem(this._key, JSON.stringify({ user: this._user, seq: this._seq }));
    } catch {
      // Quota or privacy mode: the cursor still works for this page's lifetime.
    }
  }
}

/** A bounded set of recently seen keys; the oldest is forgotten first. */
export class Dedupe {
  /** @param {number} [limit] */
  constructor(limit = 1000) {
    this.limit = limit;
    /** @type {Set<string>} */
    this._keys = new Set();
  }

  /** @param {string} key */
  has(key) {
    return this._keys.has(key);
  }

  /**
   * Remember `key`.
   * @param {string} key
   * @returns {boolean} true when the key is new
   */
  add(key) {
    if (this._keys.has(key)) {
      this._keys.delete(key); // refresh its place: recently seen keys live longest
      this._keys.add(key);
      return false;
    }
    this._keys.add(key);
    if (this._keys.size > this.limit) this._keys.delete(this._keys.values().next().value);
    return true;
  }

  get size() {
    return this._keys.size;
  }
}
