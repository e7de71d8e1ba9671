/** Building a client wired to a FakeServer, and recording what it emits. */

import { Tocsin } from "../../../src/tocsin/web/static/js/index.js";
import { FakeClock, FakeStorage, fakeJwt } from "./fakes.js";

/**
 * A client on `server` with fakes everywhere; `tokens` lists what token() returned.
 * `nextToken` (a function) decides each token; by default a JWT for "alice".
 */
export function makeClient(server, { nextToken, ...options } = {}) {
  const clock = options.clock ?? new FakeClock();
  server.startHeartbeat(clock);
  const tokens = [];
  const token = async () => {
    const value = nextToken ? nextToken(tokens.length) : fakeJwt("alice");
    tokens.push(value);
    return value;
  };
  const tocsin = new Tocsin({
    url: server.url,
    token,
    WebSocket: server.WebSocket,
    EventSource: server.EventSource,
    fetch: server.fetch,
    storage: new FakeStorage(),
    shareTabs: false,
    ...options,
    clock,
  });
  return { tocsin, clock, tokens, events: record(tocsin) };
}

/** Every event of `tocsin`, by name, in order (also `all` as [name, value] pairs). */
export function record(tocsin) {
  const events = { notification: [], counts: [], state: [], change: [], error: [], all: [] };
  for (const name of ["notification", "counts", "state", "change", "error"]) {
    tocsin.on(name, (value) => {
      events[name].push(value);
      events.all.push([name, value]);
    });
  }
  return events;
}

/** The seqs of the notifications received. */
export function seqs(events) {
  return events.notification.map((n) => n.seq);
}
