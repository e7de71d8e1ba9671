/** A tiny event emitter with a fixed list of event names: a typo throws, never stays silent. */
export class Emitter {
  /** @param {readonly string[]} events */
  constructor(events) {
    /** @type {Map<string, Set<Function>>} */
    this._listeners = new Map(events.map((event) => [event, new Set()]));
  }

  /**
   * @param {string} event
   * @param {Function} fn
   * @returns {() => void} a function that removes the listener
   */
  on(event, fn) {
    if (typeof fn !== "function") throw new TypeError("tocsin: a listener must be a function");
    this._set(event).add(fn);
    return () => this.off(event, fn);
  }

  /** @param {string} event @param {Function} fn */
  off(event, fn) {
    this._set(event).delete(fn);
  }

  /** @param {string} event @param {unknown} value */
  emit(event, value) {
    for (const fn of [...this._set(event)]) {
      try {
        fn(value);
      } catch (err) {
        report(err); // one broken listener must not stop the others, nor the client
      }
    }
  }

  _set(event) {
    const set = this._listeners.get(event);
    if (!set) throw new TypeError(`tocsin: unknown event "${event}"`);
    return set;
  }
}

function report(err) {
  if (typeof globalThis.reportError === "function") globalThis.reportError(err);
  else console.error(err);
}
