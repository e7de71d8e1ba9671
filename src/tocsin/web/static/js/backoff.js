/**
 * Full-jitter exponential backoff: the n-th delay is uniform in [0, min(cap, base * 2^n)).
 * Spreading retries over the whole window keeps a crowd of clients from reconnecting in step
 * after a server restart.
 */
export class Backoff {
  /**
   * @param {{base?: number, cap?: number, random?: () => number}} [options] milliseconds
   */
  constructor({ base = 500, cap = 30_000, random = Math.random } = {}) {
    this.base = base;
    this.cap = cap;
    this._random = random;
    this._attempt = 0;
  }

  /** Delays handed out since the last reset. */
  get attempt() {
    return this._attempt;
  }

  /** @returns {number} the next delay in milliseconds */
  next() {
    const ceiling = Math.min(this.cap, this.base * 2 ** this._attempt);
    if (ceiling < this.cap) this._attempt += 1; // stop counting once capped: no overflow
    return Math.floor(this._random() * ceiling);
  }

  /** Start again from `base` (after a connection proved stable). */
  reset() {
    this._attempt = 0;
  }
}
