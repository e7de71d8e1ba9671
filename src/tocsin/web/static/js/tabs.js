/**
 * Sharing one connection between the tabs of a browser.
 *
 * Tabs of the same server URL elect one leader, which holds the connection and relays what it
 * receives on a BroadcastChannel; the others follow. The election uses Web Locks when the
 * browser has them (the leader holds a lock until its tab closes; the browser hands it to the
 * next tab at once), else heartbeats on the channel: the leader announces itself every
 * HEARTBEAT_MS, a follower that hears nothing for LEADER_TIMEOUT_MS takes over, and of two
 * leaders the one with the smaller id stays.
 */

export const HEARTBEAT_MS = 500;
export const LEADER_TIMEOUT_MS = 1600;
/** How long a new tab listens for a leader before claiming (heartbeat election). */
export const CLAIM_WAIT_MS = 300;

const HEARTBEAT = "tabs:heartbeat";
const WHO = "tabs:who";
const BYE = "tabs:bye";

export class Tabs {
  /**
   * @param {object} options
   * @param {string} options.name channel and lock name
   * @param {typeof BroadcastChannel} options.BroadcastChannel
   * @param {LockManager | null} [options.locks] `navigator.locks`, when there is one
   * @param {import("./clock.js").Clock} options.clock
   * @param {() => void} options.onLeader this tab must hold the connection
   * @param {() => void} options.onFollower this tab must not
   * @param {(message: any) => void} options.onMessage a message from another tab
   */
  constructor({ name, BroadcastChannel, locks = null, clock, onLeader, onFollower, onMessage }) {
    this.name = name;
    this._BroadcastChannel = BroadcastChannel;
    this._locks = locks;
    this._clock = clock;
    this._onLeader = onLeader;
    this._onFollower = onFollower;
    this._onMessage = onMessage;
    this._channel = null;
    this._started = false;
    this.isLeader = false;
    this.id = Math.floor(clock.random() * 2 ** 52).toString(36) + "-" + clock.now().toString(36);
    this._abort = null;
    this._release = null;
    this._timer = null;
    this._lastHeard = 0;
    // A leader elected by heartbeats says goodbye when its page goes away, so that a follower
    // takes over at once instead of after LEADER_TIMEOUT_MS.
    this._onPageHide = () => {
      if (this.isLeader && !this._locks) this._post({ kind: BYE, id: this.id });
    };
  }

  /** Join the election (this tab follows until it wins). */
  start() {
    if (this._started) return;
    this._started = true;
    this.open();
    globalThis.addEventListener?.("pagehide", this._onPageHide);
    this._follow();
    if (this._locks) this._requestLock();
    else this._listenForLeader();
  }

  /** Leave the election (the channel stays open); another tab takes over at once. */
  stop() {
    if (!this._started) return;
    this._started = false;
    globalThis.removeEventListener?.("pagehide", this._onPageHide);
    this._onPageHide();
    this.isLeader = false;
    this._abort?.abort();
    this._release?.();
    this._abort = this._release = null;
    if (this._timer !== null) this._clock.clearTimeout(this._timer);
    this._timer = null;
  }

  /**
   * Open the channel: from now on this tab hears the others (inbox actions, counts), connected
   * or not. It stays open for the page's lifetime.
   */
  open() {
    if (this._channel) return;
    this._channel = new this._BroadcastChannel(this.name);
    this._channel.onmessage = (event) => this._receive(event.data);
    // In Node an open channel would keep the process alive.
    /** @type {any} */ (this._channel).unref?.();
  }

  /**
   * Send a message to the other tabs.
   * @param {object} message structured-clonable
   */
  post(message) {
    this.open();
    this._post(message);
  }

  _post(message) {
    try {
      this._channel?.postMessage(message);
    } catch {
      // closed channel: nobody to tell
    }
  }

  _receive(message) {
    if (message === null || typeof message !== "object") return;
    switch (message.kind) {
      case HEARTBEAT:
        return this._heard(message.id);
      case WHO:
        if (this.isLeader && !this._locks) this._post({ kind: HEARTBEAT, id: this.id });
        return undefined;
      case BYE:
        if (this._started && !this.isLeader && !this._locks) {
          this._lastHeard = -Infinity;
          this._check(this._clock.random() * CLAIM_WAIT_MS); // spread the claims
        }
        return undefined;
      default:
        return this._onMessage(message);
    }
  }

  _lead() {
    if (this.isLeader || !this._started) return;
    this.isLeader = true;
    this._onLeader();
  }

  _follow() {
    this.isLeader = false;
    this._onFollower();
  }

  // Web Locks: the lock is held for the tab's lifetime, or until stop().

  _requestLock() {
    const abort = typeof AbortController === "function" ? new AbortController() : null;
    this._abort = abort;
    const options = abort ? { signal: abort.signal } : {};
    this._locks
      .request(this.name, options, () => {
        if (!this._started || this._abort !== abort) return undefined; // stopped meanwhile
        return new Promise((release) => {
          this._release = release;
          this._lead();
        });
      })
      .catch(() => {}); // AbortError after stop()
  }

  // Heartbeats, without Web Locks.

  _listenForLeader() {
    this._lastHeard = -Infinity;
    this._post({ kind: WHO, id: this.id });
    this._check(CLAIM_WAIT_MS + this._clock.random() * CLAIM_WAIT_MS);
  }

  _heard(id) {
    if (!this._started || this._locks) return;
    if (!this.isLeader) {
      this._lastHeard = this._clock.now();
    } else if (id < this.id) {
      this._lastHeard = this._clock.now(); // two leaders: the smaller id stays
      this._follow();
      this._check(HEARTBEAT_MS);
    } else {
      this._post({ kind: HEARTBEAT, id: this.id }); // tell the other one to step down
    }
  }

  _check(delay) {
    if (this._timer !== null) this._clock.clearTimeout(this._timer);
    this._timer = this._clock.setTimeout(() => {
      this._timer = null;
      if (!this._started) return;
      if (this.isLeader) {
        this._post({ kind: HEARTBEAT, id: this.id });
      } else if (this._clock.now() - this._lastHeard >= LEADER_TIMEOUT_MS) {
        this._lead();
        this._post({ kind: HEARTBEAT, id: this.id });
      }
      this._check(HEARTBEAT_MS);
    }, delay);
  }
}
