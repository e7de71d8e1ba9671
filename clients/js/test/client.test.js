import assert from "node:assert/strict";
import test from "node:test";

import Default, { States, Tocsin, TocsinError } from "../../../src/tocsin/web/static/js/index.js";
import { FakeServer, fakeJwt } from "../support/fakes.js";
import { makeClient } from "../support/client.js";

const base = { url: "https://notify.example.com", token: "jwt", shareTabs: false, storage: null };

test("the module exports Tocsin (also as default), States and TocsinError", () => {
  assert.equal(Default, Tocsin);
  assert.equal(typeof States.CONNECTED, "string");
  assert.ok(new TocsinError("c", "m") instanceof Error);
});

test("on() returns an unsubscribe function; off() removes a listener", async () => {
  const server = new FakeServer();
  const { tocsin, clock } = makeClient(server);
  const seen = [];
  const stop = tocsin.on("state", (s) => seen.push(["a", s]));
  const b = (s) => seen.push(["b", s]);
  tocsin.on("state", b);
  tocsin.connect();
  stop();
  tocsin.off("state", b);
  await clock.tick();
  assert.deepEqual(seen, [
    ["a", "connecting"],
    ["b", "connecting"],
  ]);
});

test("an unknown event name throws (a typo never fails silently)", () => {
  const tocsin = new Tocsin({ ...base, fetch: async () => new Response("{}") });
  assert.throws(() => tocsin.on("notifications", () => {}), /unknown event "notifications"/);
  assert.throws(() => tocsin.on("state", "not a function"), TypeError);
});

test("a listener that throws does not stop the other listeners or the client", async (t) => {
  const reported = [];
  t.mock.method(console, "error", (err) => reported.push(err));
  const server = new FakeServer();
  const { tocsin, clock } = makeClient(server);
  const got = [];
  tocsin.on("notification", () => {
    throw new Error("listener bug");
  });
  tocsin.on("notification", (n) => got.push(n.seq));
  tocsin.connect();
  await clock.tick();
  server.publish("alice");
  server.publish("alice");
  await clock.tick();
  assert.deepEqual(got, [1, 2]);
  assert.equal(reported.length, 2);
  assert.equal(reported[0].message, "listener bug");
});

test("url must be http(s); a trailing slash is dropped", () => {
  const fetch = async () => new Response("{}");
  assert.throws(() => new Tocsin({ ...base, fetch, url: "ws://x.example" }), /http\(s\)/);
  assert.throws(() => new Tocsin({ ...base, fetch, url: undefined }), /url option is required/);
  assert.equal(
    new Tocsin({ ...base, fetch, url: "https://x.example/n/" }).url,
    "https://x.example/n",
  );
});

test("a relative url resolves against the page", (t) => {
  t.after(() => delete globalThis.location);
  globalThis.location = { href: "https://app.example.com/inbox/page" };
  const fetch = async () => new Response("{}");
  assert.equal(
    new Tocsin({ ...base, fetch, url: "/notify" }).url,
    "https://app.example.com/notify",
  );
  assert.equal(new Tocsin({ ...base, fetch, url: undefined }).url, "https://app.example.com");
});

test("token may be a plain string; anything else is refused", async () => {
  const server = new FakeServer();
  const jwt = fakeJwt("alice");
  const { tocsin, clock } = makeClient(server, { token: jwt });
  tocsin.connect();
  await clock.tick();
  assert.equal(server.sockets[0].messages[0].token, jwt);
  assert.throws(() => new Tocsin({ ...base, token: 42 }), /token must be/);
});

test("a token() that resolves to nothing is reported, not sent", async () => {
  const server = new FakeServer();
  const { tocsin, clock, events } = makeClient(server, { token: async () => "" });
  tocsin.connect();
  await clock.tick();
  assert.equal(server.sockets.length, 0);
  assert.equal(events.error[0].code, "token_error");
  assert.equal(tocsin.state, "connecting");
  tocsin.disconnect();
});

test("fetch is always called bare (browsers refuse it as a method of another object)", async () => {
  const server = new FakeServer();
  const thisValues = [];
  const fetch = function (input, init) {
    thisValues.push(this);
    return server.fetch(input, init);
  };
  const { tocsin } = makeClient(server, { fetch });
  await tocsin.fetchCounts();
  assert.deepEqual(thisValues, [undefined]);
});

test("the default options work in Node without fakes: real BroadcastChannel, no storage, no hang", () => {
  const tocsin = new Tocsin({
    url: "https://x.example",
    token: "jwt",
    fetch: async () => new Response("{}"),
  });
  assert.equal(tocsin.state, States.DISCONNECTED);
  assert.equal(tocsin.transport, null);
  assert.equal(tocsin.counts, null);
  assert.equal(tocsin.isLeader, false);
});

test("the JWT appears in no URL, whatever the transport", async () => {
  for (const transports of [["websocket"], ["sse"], ["longpoll"]]) {
    const server = new FakeServer();
    const { tocsin, clock, tokens } = makeClient(server, { transports });
    tocsin.connect();
    await clock.tick();
    server.publish("alice");
    await clock.tick();
    await tocsin.list();
    const urls = [
      ...server.requests.map((r) => r.url),
      ...server.sockets.map((s) => s.url),
      ...server.sources.map((s) => s.url),
    ];
    assert.ok(urls.length > 0);
    for (const url of urls) assert.ok(!url.includes(tokens[0]), `${transports}: ${url}`);
    tocsin.disconnect();
  }
});
