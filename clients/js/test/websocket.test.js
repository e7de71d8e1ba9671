import assert from "node:assert/strict";
import test from "node:test";

import { closeAction } from "../../../src/tocsin/web/static/js/transports/websocket.js";
import { FakeServer, fakeJwt } from "../support/fakes.js";
import { makeClient, seqs } from "../support/client.js";

async function connected(options = {}) {
  const server = options.server ?? new FakeServer();
  const client = makeClient(server, options);
  client.tocsin.connect();
  await client.clock.tick();
  return { server, ...client };
}

test("connects to {url}/v1/ws and authenticates with the first message, never in the URL", async () => {
  const { server, tocsin, tokens } = await connected();
  const ws = server.sockets[0];
  assert.equal(ws.url, "wss://notify.example.com/v1/ws");
  assert.equal(ws.protocols, undefined);
  assert.deepEqual(ws.messages[0], { type: "auth", token: tokens[0] });
  assert.ok(!ws.url.includes(tokens[0]));
  assert.equal(tocsin.transport, "websocket");
});

test("an http base URL (with a path) gives ws://", async () => {
  const server = new FakeServer({ url: "http://127.0.0.1:8000/notify/" });
  await connected({ server });
  assert.equal(server.sockets[0].url, "ws://127.0.0.1:8000/notify/v1/ws");
});

test("ready, notifications and state frames reach the listeners", async () => {
  const { server, events } = await connected();
  const item = server.publish("alice", { title: "Hello" });
  server.publish("bob");
  server.change("alice", {
    action: "read",
    ids: [item.id],
    all: false,
    at: "2025-01-01T00:00:00.000Z",
    counts: { unread: 0, unseen: 0 },
  });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(events.notification, [item]);
  assert.deepEqual(
    events.change.map((c) => c.action),
    ["read"],
  );
  assert.deepEqual(events.counts, [
    { unread: 0, unseen: 0 }, // ready
    { unread: 1, unseen: 1 }, // the live notification
    { unread: 0, unseen: 0 }, // the state frame
  ]);
});

test("server pings are answered with pong", async () => {
  const { server, clock } = await connected();
  server.sockets[0].push({ type: "ping" });
  await clock.tick();
  assert.deepEqual(server.sockets[0].messages.at(-1), { type: "pong" });
});

test("silence for two heartbeats closes the socket and reconnects with resume", async () => {
  const server = new FakeServer();
  server.pinging = false;
  const { clock, tocsin } = await connected({ server });
  server.publish("alice");
  await clock.tick(49_000);
  assert.equal(server.sockets.length, 1, "49 s of silence is fine");
  server.sockets[0].push({ type: "ping" });
  await clock.tick(49_000);
  assert.equal(server.sockets.length, 1, "a ping restarts the watch");
  await clock.tick(1_100);
  assert.equal(server.sockets[0].closedWith, 1000, "the dead socket is closed");
  assert.equal(tocsin.state, "connecting");
  await clock.tick(1_000);
  assert.equal(server.sockets.length, 2);
  assert.equal(server.sockets[1].messages[0].after, 1);
  assert.equal(tocsin.state, "connected");
});

test("no ready within the connect timeout counts as a failed attempt", async () => {
  const server = new FakeServer();
  const { tocsin, clock } = makeClient(server);
  server.WebSocket.prototype.send = function send() {}; // the server never answers
  tocsin.connect();
  await clock.tick(14_000);
  assert.equal(server.sockets.length, 1);
  await clock.tick(1_000);
  await clock.tick(1_000);
  assert.equal(server.sockets.length, 2);
});

test("close codes map to the protocol's advice", () => {
  for (const code of [4001, 4003]) assert.equal(closeAction(code), "auth", code);
  for (const code of [4000, 1002, 1003, 1007, 1009]) assert.equal(closeAction(code), "error", code);
  for (const code of [1000, 1001, 1006, 1011, 1012, 4002, 4008, 4010, 4029])
    assert.equal(closeAction(code), "retry", code);
});

for (const code of [4001, 4003]) {
  test(`close ${code}: token() is called again and the new token is used at once`, async () => {
    const { server, clock, tokens, events } = await connected({
      nextToken: (n) => fakeJwt("alice", `-v${n}`),
    });
    server.publish("alice");
    await clock.tick();
    server.sockets[0].drop(code, "token");
    await clock.tick(); // no backoff wait
    assert.equal(tokens.length, 2);
    assert.equal(server.sockets.length, 2);
    assert.deepEqual(server.sockets[1].messages[0], { type: "auth", token: tokens[1], after: 1 });
    assert.deepEqual(events.error, []);
  });
}

test("a token refused twice in a row is reported, then retried with backoff", async () => {
  const server = new FakeServer();
  const { tocsin, clock, tokens, events } = makeClient(server, {
    nextToken: (n) => fakeJwt("alice", `-v${n}`),
  });
  server.refused.add(fakeJwt("alice", "-v0"));
  server.refused.add(fakeJwt("alice", "-v1"));
  tocsin.connect();
  await clock.tick();
  assert.equal(tokens.length, 2, "the first refusal retries at once with a new token");
  assert.deepEqual(
    events.error.map((e) => e.code),
    ["unauthorized"],
  );
  assert.equal(server.sockets.length, 2);
  await clock.tick(100);
  assert.equal(server.sockets.length, 2, "then it waits");
  await clock.tick(1_000);
  assert.equal(server.sockets.length, 3);
  assert.equal(tocsin.state, "connected");
});

test("protocol-error closes (4000, 1009...) are reported and retried with backoff", async () => {
  const { server, clock, events } = await connected();
  server.sockets[0].drop(4000, "too many invalid messages");
  await clock.tick();
  assert.deepEqual(
    events.error.map((e) => e.code),
    ["connection_closed"],
  );
  assert.match(events.error[0].message, /4000/);
  assert.equal(server.sockets.length, 1);
  await clock.tick(300);
  assert.equal(server.sockets.length, 2);
});

for (const code of [1006, 1011, 1012, 4008, 4010]) {
  test(`close ${code} after ready: back off, reconnect and resume without loss or repeats`, async () => {
    const { server, clock, events, tocsin } = await connected();
    server.publish("alice");
    await clock.tick();
    server.sockets[0].drop(code);
    server.publish("alice"); // while away
    await clock.tick();
    assert.equal(tocsin.state, "connecting");
    assert.equal(server.sockets.length, 1, "waits for the backoff");
    await clock.tick(500);
    assert.equal(server.sockets.length, 2);
    assert.equal(server.sockets[1].messages[0].after, 1);
    server.publish("alice");
    await clock.tick();
    assert.deepEqual(seqs(events), [1, 2, 3]);
    assert.equal(tocsin.transport, "websocket", "a drop after ready is no reason to fall back");
    assert.deepEqual(events.error, []);
  });
}

test("the backoff grows while reconnects keep failing, and resets after a stable connection", async () => {
  const { server, clock } = await connected();
  clock.randomValue = 0.999;
  // 1011 before ready, repeatedly (the database is down): delays grow.
  server.WebSocket.prototype.send = function send() {
    this.drop(1011, "database unavailable");
  };
  server.sockets[0].drop(1011);
  const times = [];
  for (let i = 0; i < 5; i += 1) {
    const before = server.sockets.length;
    const start = clock.now();
    while (server.sockets.length === before) await clock.tick(100);
    times.push(clock.now() - start);
  }
  assert.ok(times[4] > times[1] * 4, `growing: ${times}`);
});

test("a failing token() is reported and retried with backoff", async () => {
  const server = new FakeServer();
  let calls = 0;
  const { tocsin, clock, events } = makeClient(server, {
    token: async () => {
      calls += 1;
      if (calls === 1) throw new Error("login service down");
      return fakeJwt("alice");
    },
  });
  tocsin.connect();
  await clock.tick();
  assert.deepEqual(
    events.error.map((e) => [e.code, e.message]),
    [["token_error", "login service down"]],
  );
  assert.equal(tocsin.state, "connecting");
  await clock.tick(500);
  assert.equal(tocsin.state, "connected");
});
