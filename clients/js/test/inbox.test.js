import assert from "node:assert/strict";
import test from "node:test";

import { TocsinError } from "../../../src/tocsin/web/static/js/index.js";
import { FakeServer, fakeJwt } from "../support/fakes.js";
import { makeClient } from "../support/client.js";

function setup(options) {
  const server = new FakeServer();
  const client = makeClient(server, options);
  return { server, ...client };
}

test("each inbox method calls its endpoint with the JWT in an Authorization header", async () => {
  const { server, tocsin, tokens } = setup();
  const item = server.publish("alice");
  const calls = [
    [() => tocsin.list(), "GET", "/v1/me/notifications"],
    [
      () => tocsin.list({ cursor: "7", limit: 5, unread: true }),
      "GET",
      "/v1/me/notifications?cursor=7&limit=5&unread=true",
    ],
    [() => tocsin.fetchCounts(), "GET", "/v1/me/counts"],
    [() => tocsin.markRead(item.id), "POST", `/v1/me/notifications/${item.id}/read`],
    [() => tocsin.markUnread(item.id), "POST", `/v1/me/notifications/${item.id}/unread`],
    [() => tocsin.markSeen(item.id), "POST", `/v1/me/notifications/${item.id}/seen`],
    [() => tocsin.markAllRead(), "POST", "/v1/me/notifications/read-all"],
    [() => tocsin.markAllSeen(), "POST", "/v1/me/notifications/seen-all"],
    [() => tocsin.dismiss(item.id), "DELETE", `/v1/me/notifications/${item.id}`],
    [() => tocsin.clearAll(), "DELETE", "/v1/me/notifications"],
  ];
  for (const [call, method, path] of calls) {
    await call();
    const request = server.requests.at(-1);
    assert.equal(request.method, method, path);
    assert.equal(request.url, server.url + path);
    assert.equal(request.headers.Authorization, `Bearer ${tokens[0]}`);
  }
  assert.equal(tokens.length, 1, "the token is reused between calls");
});

test("methods resolve to the parsed JSON answer", async () => {
  const { server, tocsin } = setup();
  const item = server.publish("alice");
  const page = await tocsin.list();
  assert.deepEqual(page.items, [item]);
  assert.equal(page.next_cursor, null);
  assert.deepEqual(await tocsin.fetchCounts(), { unread: 1, unseen: 1 });
  const change = await tocsin.markRead(item.id);
  assert.equal(change.action, "read");
  assert.deepEqual(change.ids, [item.id]);
  assert.deepEqual(change.counts, { unread: 0, unseen: 0 });
});

test("ids are URL-encoded", async () => {
  const { server, tocsin } = setup();
  await tocsin.markRead("a/b c?").catch(() => {});
  assert.equal(server.requests.at(-1).url, `${server.url}/v1/me/notifications/a%2Fb%20c%3F/read`);
});

test("non-2xx answers reject with a TocsinError carrying code and status", async () => {
  const { tocsin } = setup();
  await assert.rejects(tocsin.markRead("missing"), (err) => {
    assert.ok(err instanceof TocsinError);
    assert.ok(err instanceof Error);
    assert.equal(err.code, "not_found");
    assert.equal(err.status, 404);
    assert.equal(err.message, "No such notification.");
    return true;
  });
});

test("a non-JSON error body still gives a code", async () => {
  const fetch = async () => new Response("<html>bad gateway</html>", { status: 502 });
  const { tocsin } = setup({ fetch });
  await assert.rejects(tocsin.fetchCounts(), { code: "http_502", status: 502 });
});

test("a network failure rejects with network_error (status 0)", async () => {
  const fetch = async () => {
    throw new TypeError("Failed to fetch");
  };
  const { tocsin } = setup({ fetch });
  await assert.rejects(tocsin.list(), { name: "TocsinError", code: "network_error", status: 0 });
});

test("a bad id rejects instead of throwing", async () => {
  const { tocsin } = setup();
  const result = tocsin.markRead("");
  assert.ok(result instanceof Promise);
  await assert.rejects(result, TypeError);
});

test("a 401 asks token() for a new token and retries once", async () => {
  const { server, tocsin, tokens } = setup({ nextToken: (n) => fakeJwt("alice", `-v${n}`) });
  server.refused.add(fakeJwt("alice", "-v0"));
  assert.deepEqual(await tocsin.fetchCounts(), { unread: 0, unseen: 0 });
  assert.equal(tokens.length, 2);
  server.refused.add(fakeJwt("alice", "-v1"));
  server.refused.add(fakeJwt("alice", "-v2"));
  await assert.rejects(tocsin.fetchCounts(), { code: "invalid_token", status: 401 });
  assert.equal(tokens.length, 3, "only one retry");
});

test("a local action emits change and counts at once, and the server's echo is not emitted again", async () => {
  const { server, tocsin, clock, events } = setup();
  tocsin.connect();
  await clock.tick();
  const item = server.publish("alice");
  await clock.tick();
  assert.deepEqual(tocsin.counts, { unread: 1, unseen: 1 });
  const change = await tocsin.markRead(item.id);
  assert.deepEqual(events.change, [change]);
  assert.deepEqual(tocsin.counts, { unread: 0, unseen: 0 });
  await clock.tick(); // the state frame arrives
  assert.equal(events.change.length, 1);
  assert.deepEqual(events.counts, [
    { unread: 0, unseen: 0 },
    { unread: 1, unseen: 1 },
    { unread: 0, unseen: 0 },
  ]);
});

test("fetchCounts() and list() update the counts property", async () => {
  const { server, tocsin, events } = setup();
  assert.equal(tocsin.counts, null);
  server.publish("alice");
  await tocsin.fetchCounts();
  assert.deepEqual(tocsin.counts, { unread: 1, unseen: 1 });
  server.publish("alice");
  await tocsin.list();
  assert.deepEqual(tocsin.counts, { unread: 2, unseen: 2 });
  assert.equal(events.counts.length, 2);
});

test("inbox calls work without connect()", async () => {
  const { server, tocsin } = setup();
  await tocsin.markAllSeen();
  assert.equal(server.sockets.length, 0);
  assert.equal(tocsin.state, "disconnected");
});
