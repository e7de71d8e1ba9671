/**
 * Time and chance, in one object so tests can replace them (a fake clock drives timers by hand).
 * @typedef {object} Clock
 * @property {(fn: () => void, ms: number) => unknown} setTimeout
 * @property {(handle: unknown) => void} clearTimeout
 * @property {() => number} now milliseconds
 * @property {() => number} random uniform in [0, 1)
 */

/** @type {Clock} */
export const systemClock = Object.freeze({
  // Wrapped: browsers refuse `setTimeout` called as a method of another object.
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(/** @type {any} */ (handle)),
  now: () => Date.now(),
  random: () => Math.random(),
});
