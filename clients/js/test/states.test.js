import assert from "node:assert/strict";
import test from "node:test";

import { States, canTransition, transition } from "../../../src/tocsin/web/static/js/states.js";
import { FakeServer, fakeJwt } from "../support/fakes.js";
import { makeClient } from "../support/client.js";

test("States are frozen string constants", () => {
  assert.deepEqual(
    { ...States },
    { DISCONNECTED: "disconnected", CONNECTING: "connecting", CONNECTED: "connected" },
  );
  assert.ok(Object.isFrozen(States));
  assert.throws(() => {
    States.CONNECTED = "x";
  }, TypeError);
});

test("only the legal transitions are allowed", () => {
  const { DISCONNECTED: D, CONNECTING: C, CONNECTED: K } = States;
  assert.ok(canTransition(D, C));
  assert.ok(canTransition(C, K) && canTransition(C, D));
  assert.ok(canTransition(K, C) && canTransition(K, D));
  assert.ok(!canTransition(D, K));
  assert.ok(!canTransition(K, K));
  assert.ok(!canTransition("nope", C));
  assert.equal(transition(C, K), K);
  assert.throws(() => transition(D, K), /illegal state transition/);
});

test("a client goes disconnected -> connecting -> connected -> connecting (drop) -> connected -> disconnected", async () => {
  const server = new FakeServer();
  const { tocsin, clock, events } = makeClient(server);
  assert.equal(tocsin.state, States.DISCONNECTED);
  tocsin.connect();
  assert.equal(tocsin.state, States.CONNECTING);
  await clock.tick();
  assert.equal(tocsin.state, States.CONNECTED);
  assert.equal(tocsin.transport, "websocket");
  server.sockets[0].drop(1012, "server restarting");
  await clock.tick();
  assert.equal(tocsin.state, States.CONNECTING);
  await clock.tick(500);
  assert.equal(tocsin.state, States.CONNECTED);
  tocsin.disconnect();
  assert.equal(tocsin.state, States.DISCONNECTED);
  assert.equal(tocsin.transport, null);
  assert.deepEqual(events.state, [
    "connecting",
    "connected",
    "connecting",
    "connected",
    "disconnected",
  ]);
});

test("connect() and disconnect() are idempotent; connect() again resumes", async () => {
  const server = new FakeServer();
  const { tocsin, clock, events } = makeClient(server);
  tocsin.connect();
  tocsin.connect();
  await clock.tick();
  assert.equal(server.sockets.length, 1);
  server.publish("alice");
  await clock.tick();
  tocsin.disconnect();
  tocsin.disconnect();
  server.publish("alice");
  tocsin.connect();
  await clock.tick();
  assert.equal(server.sockets.length, 2);
  assert.equal(server.sockets[1].messages[0].after, 1);
  assert.deepEqual(
    events.notification.map((n) => n.seq),
    [1, 2],
  );
  assert.deepEqual(events.state, [
    "connecting",
    "connected",
    "disconnected",
    "connecting",
    "connected",
  ]);
});

test("nothing connects after disconnect(), even with a token request in flight", async () => {
  const server = new FakeServer();
  let release;
  const { tocsin, clock } = makeClient(server, { token: () => new Promise((r) => (release = r)) });
  tocsin.connect();
  await clock.tick();
  tocsin.disconnect();
  release(fakeJwt("alice"));
  await clock.tick(60_000);
  assert.equal(server.sockets.length, 0);
  assert.equal(tocsin.state, States.DISCONNECTED);
});
