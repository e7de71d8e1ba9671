/**
 * Fakes of the browser's boundaries for the unit tests: a clock driven by hand, storage,
 * BroadcastChannel, Web Locks, and a small in-memory Tocsin server that speaks the protocol over
 * fake WebSocket, EventSource and fetch (docs/protocol.md): ready, replay after a cursor,
 * resumed, live notifications, state frames, tickets and long polls.
 */

/** Let pending promises, microtasks and immediates run. */
export async function flush(rounds = 20) {
  for (let i = 0; i < rounds; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

/** A JWT-shaped token for `sub` (unsigned: the client never verifies). */
export function fakeJwt(sub, extra = "") {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "HS256", typ: "JWT" })}.${part({ sub, exp: 9999999999 })}.sig${extra}`;
}

export class FakeClock {
  constructor({ random = 0.5 } = {}) {
    this._now = 1_700_000_000_000;
    this._timers = new Map();
    this._next = 1;
    this.randomValue = random;
  }

  setTimeout = (fn, ms) => {
    const id = this._next++;
    this._timers.set(id, { at: this._now + Math.max(0, ms || 0), fn, id });
    return id;
  };

  clearTimeout = (id) => {
    this._timers.delete(id);
  };

  now = () => this._now;

  random = () => (typeof this.randomValue === "function" ? this.randomValue() : this.randomValue);

  get pending() {
    return this._timers.size;
  }

  /** Move time forward by `ms`, running due timers in order and letting promises settle. */
  async tick(ms = 0) {
    const end = this._now + ms;
    await flush();
    for (;;) {
      const due = [...this._timers.values()]
        .filter((t) => t.at <= end)
        .sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this._timers.delete(due.id);
      this._now = Math.max(this._now, due.at);
      due.fn();
      await flush();
    }
    this._now = end;
    await flush();
  }
}

export class FakeStorage {
  constructor(entries = {}) {
    this.map = new Map(Object.entries(entries));
  }
  getItem(key) {
    return this.map.has(key) ? this.map.get(key) : null;
  }
  setItem(key, value) {
    this.map.set(key, String(value));
  }
  removeItem(key) {
    this.map.delete(key);
  }
}

/** A BroadcastChannel class whose instances talk to each other (never to themselves). */
export function makeBroadcastChannel() {
  const open = new Set();
  return class FakeBroadcastChannel {
    constructor(name) {
      this.name = name;
      this.onmessage = null;
      this.closed = false;
      open.add(this);
    }
    postMessage(data) {
      if (this.closed) throw new Error("InvalidStateError: channel closed");
      const copy = structuredClone(data);
      for (const other of open) {
        if (other !== this && other.name === this.name) {
          queueMicrotask(() => {
            if (!other.closed) other.onmessage?.({ data: structuredClone(copy) });
          });
        }
      }
    }
    close() {
      this.closed = true;
      open.delete(this);
    }
    static get open() {
      return open;
    }
  };
}

/**
 * Web Locks shared by fake tabs: `locks.tab()` is one tab's `navigator.locks`;
 * `locks.closeTab(view)` drops what that tab held or waited for, as closing it would.
 */
export class FakeLocks {
  constructor() {
    this.held = new Map(); // name -> {view, release}
    this.queue = new Map(); // name -> [{view, callback, resolve, reject, signal}]
  }

  tab() {
    const view = {
      request: (name, options, callback) => this._request(view, name, options, callback),
    };
    return view;
  }

  closeTab(view) {
    for (const [name, waiters] of this.queue) {
      this.queue.set(
        name,
        waiters.filter((w) => w.view !== view),
      );
    }
    for (const [name, holder] of this.held) if (holder.view === view) this._release(name);
  }

  holder(name) {
    return this.held.get(name)?.view ?? null;
  }

  _request(view, name, options, callback) {
    return new Promise((resolve, reject) => {
      const waiter = { view, callback, resolve, reject };
      const signal = options?.signal;
      signal?.addEventListener("abort", () => {
        const waiters = this.queue.get(name) ?? [];
        if (waiters.includes(waiter)) {
          this.queue.set(
            name,
            waiters.filter((w) => w !== waiter),
          );
          reject(new DOMException("aborted", "AbortError"));
        }
      });
      this.queue.set(name, [...(this.queue.get(name) ?? []), waiter]);
      queueMicrotask(() => this._grant(name));
    });
  }

  _grant(name) {
    if (this.held.has(name)) return;
    const [waiter, ...rest] = this.queue.get(name) ?? [];
    if (!waiter) return;
    this.queue.set(name, rest);
    const holder = { view: waiter.view };
    this.held.set(name, holder);
    Promise.resolve()
      .then(() => waiter.callback({ name }))
      .then(
        (value) => {
          waiter.resolve(value);
          if (this.held.get(name) === holder) this._release(name);
        },
        (err) => {
          waiter.reject(err);
          if (this.held.get(name) === holder) this._release(name);
        },
      );
  }

  _release(name) {
    this.held.delete(name);
    queueMicrotask(() => this._grant(name));
  }
}

function jsonResponse(status, body) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function subjectOf(token) {
  try {
    return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()).sub ?? null;
  } catch {
    return null;
  }
}

/**
 * An in-memory Tocsin server. Knobs: `ws` ("ok" | "refuse"), `sse` ("ok" | "refuse" |
 * "missing"), `refused` (a set of tokens answered 401 / closed with 4001), `heartbeat`.
 */
export class FakeServer {
  constructor({ url = "https://notify.example.com" } = {}) {
    this.url = url;
    this.seq = 0;
    this.items = []; // {user, item}
    this.counts = new Map(); // user -> {unread, unseen}
    this.heartbeat = 25;
    this.ws = "ok";
    this.sse = "ok";
    this.refused = new Set();
    this.sockets = []; // every FakeWebSocket made
    this.sources = []; // every FakeEventSource made
    this.requests = []; // every fetch: {method, url, headers}
    this.tickets = new Map(); // ticket -> user
    this.polls = []; // pending long polls
    this.WebSocket = makeWebSocket(this);
    this.EventSource = makeEventSource(this);
    this.fetch = (input, init = {}) => this._fetch(String(input), init);
    this.routes = []; // extra (method, path) -> handler, checked first
  }

  /** Send a ping to every live connection each `heartbeat` seconds of `clock` (idempotent). */
  startHeartbeat(clock) {
    this._beating ??= new Set();
    if (this._beating.has(clock)) return;
    this._beating.add(clock);
    this.clock = clock;
    const beat = () => {
      if (this.pinging !== false)
        for (const conn of [...this.sockets, ...this.sources])
          if (conn.isLive()) conn.push({ type: "ping" });
      clock.setTimeout(beat, this.heartbeat * 1000);
    };
    clock.setTimeout(beat, this.heartbeat * 1000);
  }

  countsOf(user) {
    if (!this.counts.has(user)) this.counts.set(user, { unread: 0, unseen: 0 });
    return this.counts.get(user);
  }

  /** Store and deliver a notification for `user`; returns the item. */
  publish(user, fields = {}) {
    this.seq += 1;
    const item = {
      id: `n${this.seq}`,
      seq: this.seq,
      type: "message",
      title: `#${this.seq}`,
      ...fields,
    };
    this.items.push({ user, item });
    const counts = this.countsOf(user);
    counts.unread += 1;
    counts.unseen += 1;
    const frame = { type: "notification", seq: this.seq, notification: item };
    for (const conn of this.live(user)) conn.push(frame);
    this._answerPolls(user);
    return item;
  }

  /** A read-state change frame to every live connection of `user`. */
  change(user, change) {
    const frame = { type: "state", ...change };
    for (const conn of this.live(user)) conn.push(frame);
  }

  /** Connections (WebSocket or SSE) that are authenticated and open. */
  live(user) {
    return [...this.sockets, ...this.sources].filter((c) => c.user === user && c.isLive());
  }

  replay(user, after) {
    return this.items.filter((e) => e.user === user && e.item.seq > after).map((e) => e.item);
  }

  /** The messages a stream starts with: ready, then (after a cursor) the replay and resumed. */
  opening(user, after) {
    const frames = [
      {
        type: "ready",
        user,
        seq: this.seq,
        counts: { ...this.countsOf(user) },
        heartbeat: this.heartbeat,
      },
    ];
    if (after != null) {
      const items = this.replay(user, after);
      for (const item of items)
        frames.push({ type: "notification", seq: item.seq, notification: item });
      frames.push({ type: "resumed", after, seq: this.seq, count: items.length });
    }
    return frames;
  }

  async _fetch(url, init) {
    const method = init.method ?? "GET";
    const headers = init.headers ?? {};
    this.requests.push({ method, url, headers });
    const parsed = new URL(url);
    const auth = headers.Authorization ?? "";
    const token = auth.startsWith("Bearer ") ? auth.slice(7) : null;
    const user = token && !this.refused.has(token) ? subjectOf(token) : null;
    for (const route of this.routes) {
      if (route.method === method && route.path === parsed.pathname)
        return route.handler({ url: parsed, init, user, token });
    }
    if (user === null)
      return jsonResponse(401, {
        code: "invalid_token",
        message: "The token is invalid or expired.",
      });
    if (method === "POST" && parsed.pathname === "/v1/tickets") {
      if (this.sse === "missing")
        return jsonResponse(404, { code: "not_found", message: "Not Found" });
      this.issued = (this.issued ?? 0) + 1;
      const ticket = `t${this.issued}`;
      this.tickets.set(ticket, user);
      return jsonResponse(200, { ticket, expires_in: 30 });
    }
    if (method === "GET" && parsed.pathname === "/v1/poll")
      return this._poll(parsed, user, init.signal);
    if (method === "GET" && parsed.pathname === "/v1/me/counts")
      return jsonResponse(200, { ...this.countsOf(user) });
    if (parsed.pathname === "/v1/me/notifications" && method === "GET")
      return this._list(user, parsed);
    const mark = this._markOf(method, parsed.pathname);
    if (mark) return this._mark(user, mark);
    return jsonResponse(404, { code: "not_found", message: "Not Found" });
  }

  _list(user, url) {
    const limit = Number(url.searchParams.get("limit") ?? 20);
    const before = url.searchParams.get("cursor");
    const items = this.items
      .filter((e) => e.user === user && (before === null || e.item.seq < Number(before)))
      .map((e) => e.item)
      .reverse()
      .slice(0, limit);
    const next = items.length === limit ? String(items.at(-1).seq) : null;
    return jsonResponse(200, { items, next_cursor: next, counts: { ...this.countsOf(user) } });
  }

  _markOf(method, path) {
    const all = {
      "POST /v1/me/notifications/read-all": "read",
      "POST /v1/me/notifications/seen-all": "seen",
      "DELETE /v1/me/notifications": "archived",
    }[`${method} ${path}`];
    if (all) return { action: all, id: null };
    const one = path.match(/^\/v1\/me\/notifications\/([^/]+)(?:\/(read|unread|seen))?$/);
    if (!one) return null;
    if (method === "DELETE" && !one[2])
      return { action: "archived", id: decodeURIComponent(one[1]) };
    if (method === "POST" && one[2]) return { action: one[2], id: decodeURIComponent(one[1]) };
    return null;
  }

  /** Apply a mark, echo it as a state frame to the live connections, answer with the change. */
  _mark(user, { action, id }) {
    if (id !== null && !this.items.some((e) => e.user === user && e.item.id === id)) {
      return jsonResponse(404, { code: "not_found", message: "No such notification." });
    }
    const counts = this.countsOf(user);
    if (action === "read") counts.unread = id === null ? 0 : Math.max(0, counts.unread - 1);
    if (action === "unread") counts.unread += 1;
    if (action === "seen" || action === "read")
      counts.unseen = id === null ? 0 : Math.max(0, counts.unseen - 1);
    if (action === "archived")
      Object.assign(counts, id === null ? { unread: 0, unseen: 0 } : counts);
    this.marks = (this.marks ?? 0) + 1;
    const at = new Date(Date.UTC(2025, 0, 1) + this.marks).toISOString();
    const change = {
      action,
      ids: id === null ? null : [id],
      all: id === null,
      at,
      counts: { ...counts },
    };
    this.change(user, change);
    return jsonResponse(200, change);
  }

  _poll(url, user, signal) {
    const afterText = url.searchParams.get("after");
    const timeout = Number(url.searchParams.get("timeout"));
    if (afterText === null) {
      return jsonResponse(200, {
        messages: this.opening(user, null),
        cursor: this.seq,
        counts: { ...this.countsOf(user) },
      });
    }
    const after = Number(afterText);
    const answer = () => {
      const items = this.replay(user, after);
      const messages = items.map((item) => ({
        type: "notification",
        seq: item.seq,
        notification: item,
      }));
      return jsonResponse(200, { messages, cursor: this.seq, counts: { ...this.countsOf(user) } });
    };
    if (this.replay(user, after).length > 0 || timeout === 0) return answer();
    return new Promise((resolve, reject) => {
      const poll = { user, resolve: () => resolve(answer()) };
      this.polls.push(poll);
      const timer = this.clock?.setTimeout(() => {
        this.polls = this.polls.filter((p) => p !== poll);
        poll.resolve();
      }, timeout * 1000);
      signal?.addEventListener("abort", () => {
        this.clock?.clearTimeout(timer);
        this.polls = this.polls.filter((p) => p !== poll);
        reject(new DOMException("aborted", "AbortError"));
      });
    });
  }

  _answerPolls(user) {
    const waiting = this.polls.filter((p) => p.user === user);
    this.polls = this.polls.filter((p) => p.user !== user);
    for (const poll of waiting) poll.resolve();
  }
}

function makeWebSocket(server) {
  return class FakeWebSocket {
    constructor(url, protocols) {
      this.url = url;
      this.protocols = protocols;
      this.readyState = 0;
      this.sent = [];
      this.user = null;
      this.closedWith = null;
      this.onopen = this.onmessage = this.onerror = this.onclose = null;
      server.sockets.push(this);
      queueMicrotask(() => {
        if (this.readyState !== 0) return;
        if (server.ws === "refuse") return this.drop(1006, "");
        this.readyState = 1;
        this.onopen?.({});
      });
    }

    isLive() {
      return this.readyState === 1 && this.user !== null;
    }

    get messages() {
      return this.sent.map((s) => JSON.parse(s));
    }

    send(data) {
      if (this.readyState !== 1) throw new Error("InvalidStateError");
      this.sent.push(data);
      const message = JSON.parse(data);
      if (message.type === "auth" && this.user === null) {
        if (server.refused.has(message.token)) {
          this.push({
            type: "error",
            code: "invalid_token",
            message: "The token is invalid or expired.",
          });
          return this.drop(4001, "invalid_token");
        }
        this.user = subjectOf(message.token);
        for (const frame of server.opening(this.user, message.after ?? null)) this.push(frame);
      }
    }

    /** Server -> client frame (async, in order). */
    push(frame) {
      queueMicrotask(() => {
        if (this.readyState === 1) this.onmessage?.({ data: JSON.stringify(frame) });
      });
    }

    /** The server or the network ends the connection with `code`. */
    drop(code, reason = "") {
      queueMicrotask(() => {
        if (this.readyState === 3) return;
        this.readyState = 3;
        this.closedWith = code;
        if (code === 1006) this.onerror?.({});
        this.onclose?.({ code, reason, wasClean: code !== 1006 });
      });
    }

    close(code = 1000) {
      if (this.readyState >= 2) return;
      this.readyState = 2;
      this.closedWith = code;
      queueMicrotask(() => {
        this.readyState = 3;
        this.onclose?.({ code: 1005, reason: "", wasClean: true });
      });
    }
  };
}

function makeEventSource(server) {
  return class FakeEventSource {
    constructor(url) {
      this.url = url;
      this.readyState = 0;
      this.user = null;
      this.closed = false;
      this.onmessage = this.onerror = this.onopen = null;
      server.sources.push(this);
      const parsed = new URL(url);
      const ticket = parsed.searchParams.get("ticket");
      const last = parsed.searchParams.get("last_event_id");
      queueMicrotask(() => {
        if (this.closed) return;
        const user = server.tickets.get(ticket);
        server.tickets.delete(ticket); // single use
        if (server.sse !== "ok" || !user) return this.fail();
        this.readyState = 1;
        this.user = user;
        for (const frame of server.opening(user, last === null ? null : Number(last)))
          this.push(frame);
      });
    }

    isLive() {
      return this.readyState === 1 && !this.closed && this.user !== null;
    }

    push(frame) {
      queueMicrotask(() => {
        if (this.closed) return;
        const lastEventId = frame.seq != null && frame.type !== "state" ? String(frame.seq) : "";
        this.onmessage?.({ data: JSON.stringify(frame), lastEventId });
      });
    }

    /** The stream breaks (EventSource would now reconnect by itself: readyState 0). */
    fail() {
      queueMicrotask(() => {
        if (this.closed) return;
        this.readyState = 0;
        this.user = null;
        this.onerror?.({});
      });
    }

    close() {
      this.closed = true;
      this.readyState = 2;
    }
  };
}
