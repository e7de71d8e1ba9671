import assert from "node:assert/strict";
import test from "node:test";

import { Tocsin } from "../../../src/tocsin/web/static/js/index.js";
import { FakeServer, fakeJwt } from "../support/fakes.js";
import { makeClient, seqs } from "../support/client.js";

test("WebSocket refused twice before ready -> SSE", async () => {
  const server = new FakeServer();
  server.ws = "refuse"; // e.g. a proxy that refuses the upgrade
  const { tocsin, clock, events } = makeClient(server);
  tocsin.connect();
  await clock.tick();
  assert.equal(server.sockets.length, 1);
  assert.equal(server.sources.length, 0, "one failure is not enough");
  await clock.tick(500);
  assert.equal(server.sockets.length, 2);
  assert.equal(server.sources.length, 1, "the second failure moves on at once");
  assert.equal(tocsin.transport, "sse");
  assert.equal(tocsin.state, "connected");
  assert.deepEqual(events.error, [], "a fallback is not an error");
});

test("SSE failing before its first message -> long-polling", async () => {
  const server = new FakeServer();
  server.ws = "refuse";
  server.sse = "refuse"; // e.g. a buffering proxy
  const { tocsin, clock } = makeClient(server);
  tocsin.connect();
  await clock.tick(1_000);
  assert.equal(server.sources.length, 1);
  assert.equal(server.sources[0].closed, true);
  assert.equal(tocsin.transport, "longpoll");
  assert.equal(tocsin.state, "connected");
});

test("a server without SSE (404 on tickets) -> long-polling", async () => {
  const server = new FakeServer();
  server.ws = "refuse";
  server.sse = "missing";
  const { tocsin, clock } = makeClient(server);
  tocsin.connect();
  await clock.tick(1_000);
  assert.equal(server.sources.length, 0);
  assert.equal(tocsin.transport, "longpoll");
});

test("the last transport keeps retrying with backoff instead of giving up", async () => {
  const server = new FakeServer();
  server.ws = "refuse";
  const { tocsin, clock } = makeClient(server, { transports: ["websocket"] });
  tocsin.connect();
  await clock.tick(10_000);
  assert.ok(server.sockets.length >= 4);
  assert.equal(tocsin.state, "connecting");
  server.ws = "ok";
  await clock.tick(30_000);
  assert.equal(tocsin.state, "connected");
});

test("the transports option sets the order and the subset", async () => {
  const server = new FakeServer();
  const { tocsin, clock } = makeClient(server, { transports: ["longpoll", "websocket"] });
  tocsin.connect();
  await clock.tick();
  assert.equal(tocsin.transport, "longpoll");
  assert.equal(server.sockets.length, 0);
});

test("while on a worse transport the better one is retried about every minute, and used once it works", async () => {
  const server = new FakeServer();
  server.ws = "refuse";
  const { tocsin, clock, events } = makeClient(server);
  tocsin.connect();
  await clock.tick(1_000);
  assert.equal(tocsin.transport, "sse");
  server.publish("alice");
  await clock.tick();
  await clock.tick(44_000); // first upgrade at 60 s * (0.75 + 0.5 * random), random = 0.5
  assert.equal(server.sockets.length, 2);
  await clock.tick(16_000);
  assert.equal(server.sockets.length, 3, "a probe");
  assert.equal(tocsin.transport, "sse", "the probe failed: stay");
  server.ws = "ok"; // the proxy is fixed
  await clock.tick(60_000);
  assert.equal(tocsin.transport, "websocket");
  assert.equal(tocsin.state, "connected");
  const ws = server.sockets.at(-1);
  assert.equal(ws.messages[0].after, 1, "the probe resumes from the cursor");
  assert.equal(server.sources[0].closed, true, "the worse stream is closed");
  server.publish("alice");
  await clock.tick();
  assert.deepEqual(seqs(events), [1, 2]);
  assert.equal(events.state.filter((s) => s === "connecting").length, 1, "no state flicker");
});

test("switching back loses and repeats nothing, even with notifications during the switch", async () => {
  const server = new FakeServer();
  server.ws = "refuse";
  const { tocsin, clock, events } = makeClient(server);
  tocsin.connect();
  await clock.tick(1_000);
  server.publish("alice");
  await clock.tick();
  server.ws = "ok";
  // The probe connects at 60 s; publish around it so both streams carry some of the same items.
  await clock.tick(59_000);
  for (let i = 0; i < 3; i += 1) {
    server.publish("alice");
    server.publish("bob");
    await clock.tick(400);
  }
  for (let i = 0; i < 3; i += 1) {
    server.publish("alice");
    await new Promise((r) => setImmediate(r));
  }
  await clock.tick(1_000);
  assert.equal(tocsin.transport, "websocket");
  const expected = server.items.filter((e) => e.user === "alice").map((e) => e.item.seq);
  assert.deepEqual(seqs(events), expected);
});

test("long-polling upgrades to SSE when WebSocket still fails", async () => {
  const server = new FakeServer();
  server.ws = "refuse";
  server.sse = "refuse";
  const { tocsin, clock } = makeClient(server);
  tocsin.connect();
  await clock.tick(1_000);
  assert.equal(tocsin.transport, "longpoll");
  server.sse = "ok";
  await clock.tick(61_000);
  assert.equal(tocsin.transport, "sse");
  await clock.tick(1_000);
  assert.equal(server.polls.length, 0, "the poll loop stopped");
});

test("a drop on the better stream during a probe cancels the probe and reconnects normally", async () => {
  const server = new FakeServer();
  server.ws = "refuse";
  const { tocsin, clock } = makeClient(server);
  tocsin.connect();
  await clock.tick(1_000);
  server.WebSocket.prototype.send = function send() {}; // the probe hangs before ready
  server.ws = "ok";
  await clock.tick(60_000);
  const probe = server.sockets.at(-1);
  assert.equal(probe.readyState, 1);
  server.sources[0].fail();
  await clock.tick();
  assert.equal(probe.readyState >= 2, true, "the probe is closed");
  await clock.tick(1_000);
  assert.equal(tocsin.transport, "sse");
  assert.equal(tocsin.state, "connected");
});

test("unknown or unavailable transports are refused up front", () => {
  const base = { url: "https://x.example", token: "t", shareTabs: false, storage: null };
  assert.throws(() => new Tocsin({ ...base, transports: ["carrier-pigeon"] }), /unknown transport/);
  assert.throws(() => new Tocsin({ ...base, transports: [] }), /non-empty/);
  assert.throws(
    () => new Tocsin({ ...base, transports: ["websocket"], WebSocket: undefined }),
    /works here/,
  );
  const tocsin = new Tocsin({ ...base, fetch: async () => new Response("{}") });
  assert.ok(tocsin, "Node has no WebSocket/EventSource: long-polling remains");
  assert.equal(typeof fakeJwt("a"), "string");
});
