import assert from "node:assert/strict";
import test from "node:test";

import { FakeServer, fakeJwt } from "../support/fakes.js";
import { makeClient, seqs } from "../support/client.js";

function polls(server) {
  return server.requests.filter((r) => r.url.includes("/v1/poll")).map((r) => new URL(r.url));
}

async function connected(options = {}) {
  const server = options.server ?? new FakeServer();
  const client = makeClient(server, { transports: ["longpoll"], ...options });
  client.tocsin.connect();
  await client.clock.tick();
  return { server, ...client };
}

test("the first poll (no cursor) gets ready; then it loops with after=cursor, waiting 25 s", async () => {
  const { server, tocsin, tokens } = await connected();
  const [first, second] = polls(server);
  assert.equal(first.searchParams.has("after"), false);
  assert.equal(second.searchParams.get("after"), "0");
  assert.equal(second.searchParams.get("timeout"), "25");
  assert.equal(server.requests[0].headers.Authorization, `Bearer ${tokens[0]}`);
  assert.ok(!server.requests[0].url.includes(tokens[0]));
  assert.equal(tocsin.state, "connected");
  assert.equal(tocsin.transport, "longpoll");
});

test("a waiting poll answers with new notifications; the next poll starts at once from the answer's cursor", async () => {
  const { server, clock, events } = await connected();
  server.publish("alice");
  await clock.tick();
  server.publish("bob");
  server.publish("alice");
  await clock.tick();
  assert.deepEqual(seqs(events), [1, 3]);
  assert.equal(polls(server).at(-1).searchParams.get("after"), "3");
  assert.deepEqual(events.counts.at(-1), { unread: 2, unseen: 2 }, "counts from the poll answer");
});

test("with a saved cursor the first poll asks at once (timeout=0) and the stream opens", async () => {
  const server = new FakeServer();
  server.publish("alice");
  const storage = new (await import("../support/fakes.js")).FakeStorage({
    "tocsin:cursor:https://notify.example.com": JSON.stringify({ user: "alice", seq: 0 }),
  });
  const { events, tocsin } = await connected({ server, storage });
  const [first] = polls(server);
  assert.equal(first.searchParams.get("after"), "0");
  assert.equal(first.searchParams.get("timeout"), "0");
  assert.deepEqual(seqs(events), [1]);
  assert.equal(tocsin.state, "connected");
});

test("a 401 asks token() again and continues from the cursor", async () => {
  const { server, clock, tokens, events } = await connected({
    nextToken: (n) => fakeJwt("alice", `-v${n}`),
  });
  server.refused.add(tokens[0]);
  server.publish("alice"); // answers the waiting poll
  await clock.tick();
  server.publish("alice"); // the next poll is refused
  await clock.tick();
  assert.equal(tokens.length, 2);
  assert.equal(polls(server).at(-1).searchParams.get("after"), "2");
  assert.deepEqual(seqs(events), [1, 2]);
  assert.deepEqual(events.error, []);
});

test("server errors back off; disconnect() aborts the waiting poll", async () => {
  const server = new FakeServer();
  let failures = 2;
  server.routes.push({
    method: "GET",
    path: "/v1/poll",
    handler: ({ init }) => {
      if (failures > 0) {
        failures -= 1;
        return new Response('{"code":"storage_unavailable","message":"down"}', { status: 503 });
      }
      server.routes.length = 0;
      return server.fetch(server.requests.at(-1).url, init);
    },
  });
  const { tocsin, clock } = makeClient(server, { transports: ["longpoll"] });
  tocsin.connect();
  await clock.tick();
  assert.equal(tocsin.state, "connecting");
  await clock.tick(2_000);
  assert.equal(tocsin.state, "connected");
  const before = server.polls.length;
  assert.equal(before, 1);
  tocsin.disconnect();
  await clock.tick();
  assert.equal(server.polls.length, 0, "the pending request was aborted");
});

test("an idle poll is answered empty after its timeout and the loop goes on", async () => {
  const { server, clock, events } = await connected();
  const count = polls(server).length;
  await clock.tick(25_000);
  assert.equal(polls(server).length, count + 1);
  server.publish("alice");
  await clock.tick();
  assert.deepEqual(seqs(events), [1]);
});

test("a poll that hangs past timeout + grace is aborted and retried", async () => {
  const server = new FakeServer();
  const { tocsin, clock } = await connected({ server });
  server.clock = null; // from now on idle polls hang
  await clock.tick(25_000);
  const count = polls(server).length;
  await clock.tick(40_001);
  await clock.tick(1_000);
  assert.ok(polls(server).length > count);
  assert.notEqual(tocsin.state, "disconnected");
});
