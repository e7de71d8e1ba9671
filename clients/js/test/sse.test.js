import assert from "node:assert/strict";
import test from "node:test";

import { FakeServer, fakeJwt } from "../support/fakes.js";
import { makeClient, seqs } from "../support/client.js";

async function connected(options = {}) {
  const server = options.server ?? new FakeServer();
  const client = makeClient(server, { transports: ["sse"], ...options });
  client.tocsin.connect();
  await client.clock.tick();
  return { server, ...client };
}

test("buys a ticket with the JWT in a header, then opens the stream with the ticket only", async () => {
  const { server, tocsin, tokens } = await connected();
  const [post] = server.requests;
  assert.equal(post.method, "POST");
  assert.equal(post.url, "https://notify.example.com/v1/tickets");
  assert.equal(post.headers.Authorization, `Bearer ${tokens[0]}`);
  const source = server.sources[0];
  assert.equal(source.url, "https://notify.example.com/v1/sse?ticket=t1");
  assert.ok(!source.url.includes(tokens[0]), "the JWT never goes in a URL");
  assert.equal(tocsin.state, "connected");
  assert.equal(tocsin.transport, "sse");
});

test("envelopes arrive as unnamed messages; notifications and counts reach the listeners", async () => {
  const { server, clock, events } = await connected();
  server.publish("alice");
  server.publish("alice");
  await clock.tick();
  assert.deepEqual(seqs(events), [1, 2]);
  assert.deepEqual(events.counts, [
    { unread: 0, unseen: 0 }, // from ready
    { unread: 1, unseen: 1 },
    { unread: 2, unseen: 2 },
  ]);
});

test("on error it closes the EventSource itself and reconnects with a new ticket and last_event_id", async () => {
  const { server, clock, events, tocsin } = await connected();
  server.publish("alice");
  await clock.tick();
  const first = server.sources[0];
  first.fail();
  server.publish("alice"); // missed while the stream is down
  await clock.tick();
  assert.equal(first.closed, true, "no automatic reconnect with a spent ticket");
  assert.equal(tocsin.state, "connecting");
  await clock.tick(500);
  assert.equal(server.sources.length, 2);
  assert.equal(
    server.sources[1].url,
    "https://notify.example.com/v1/sse?ticket=t2&last_event_id=1",
  );
  server.publish("alice");
  await clock.tick();
  assert.deepEqual(seqs(events), [1, 2, 3]);
  assert.equal(tocsin.state, "connected");
  assert.equal(
    tocsin.transport,
    "sse",
    "an error after the first message is no reason to fall back",
  );
});

test("a 401 on the ticket asks token() again and retries at once", async () => {
  const server = new FakeServer();
  const client = makeClient(server, {
    transports: ["sse"],
    nextToken: (n) => fakeJwt("alice", `-v${n}`),
  });
  server.refused.add(fakeJwt("alice", "-v0"));
  client.tocsin.connect();
  await client.clock.tick();
  assert.equal(client.tokens.length, 2);
  assert.equal(server.requests[1].headers.Authorization, `Bearer ${client.tokens[1]}`);
  assert.equal(client.tocsin.state, "connected");
  assert.deepEqual(client.events.error, []);
});

test("a token_expired error envelope before the stream ends means: refresh the token", async () => {
  const { server, clock, tokens } = await connected({
    nextToken: (n) => fakeJwt("alice", `-v${n}`),
  });
  const source = server.sources[0];
  source.push({ type: "error", code: "token_expired", message: "The token expired; reconnect." });
  source.fail();
  await clock.tick(); // no backoff wait
  assert.equal(tokens.length, 2);
  assert.equal(server.sources.length, 2);
});

test("the ticket request failing (server unreachable) is retried with backoff, not a fallback", async () => {
  const server = new FakeServer();
  let down = true;
  const fetch = (url, init) =>
    down ? Promise.reject(new TypeError("Failed to fetch")) : server.fetch(url, init);
  const { tocsin, clock } = makeClient(server, { fetch });
  server.ws = "refuse";
  tocsin.connect();
  await clock.tick(2_000); // websocket refused twice -> sse
  assert.equal(tocsin.transport, null);
  await clock.tick(2_000);
  down = false;
  await clock.tick(10_000);
  assert.equal(tocsin.transport, "sse");
});
