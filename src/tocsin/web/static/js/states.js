/**
 * Connection states. A client starts DISCONNECTED, is CONNECTING while it opens (or waits to
 * reopen) a connection, CONNECTED while a stream is live (in a follower tab: while the leader
 * tab's stream is live), and DISCONNECTED again only after `disconnect()`.
 */
export const States = Object.freeze({
  DISCONNECTED: "disconnected",
  CONNECTING: "connecting",
  CONNECTED: "connected",
});

const NEXT = Object.freeze({
  [States.DISCONNECTED]: Object.freeze([States.CONNECTING]),
  [States.CONNECTING]: Object.freeze([States.CONNECTED, States.DISCONNECTED]),
  [States.CONNECTED]: Object.freeze([States.CONNECTING, States.DISCONNECTED]),
});

/**
 * Whether a client may go from `from` to `to`.
 * @param {string} from
 * @param {string} to
 * @returns {boolean}
 */
export function canTransition(from, to) {
  return (NEXT[from] ?? []).includes(to);
}

/**
 * `to`, after checking that the move is legal.
 * @param {string} from
 * @param {string} to
 * @returns {string}
 * @throws {Error} on an illegal transition (a bug in the client, never a network condition)
 */
export function transition(from, to) {
  if (!canTransition(from, to))
    throw new Error(`tocsin: illegal state transition ${from} -> ${to}`);
  return to;
}
