import assert from "node:assert/strict";
import test from "node:test";

import {
  CLAIM_WAIT_MS,
  HEARTBEAT_MS,
  LEADER_TIMEOUT_MS,
} from "../../../src/tocsin/web/static/js/tabs.js";
import {
  FakeClock,
  FakeLocks,
  FakeServer,
  FakeStorage,
  fakeJwt,
  makeBroadcastChannel,
} from "../support/fakes.js";
import { makeClient, seqs } from "../support/client.js";

/** A browser: tabs sharing storage, a BroadcastChannel, Web Locks (or not) and a clock. */
function browser({ locks = true } = {}) {
  const server = new FakeServer();
  const shared = {
    clock: new FakeClock(),
    storage: new FakeStorage(),
    BroadcastChannel: makeBroadcastChannel(),
  };
  const lockManager = locks ? new FakeLocks() : null;
  const tabs = [];
  const open = (options = {}) => {
    const view = lockManager ? lockManager.tab() : null;
    const tab = makeClient(server, { ...shared, shareTabs: true, locks: view, ...options });
    tab.view = view;
    tabs.push(tab);
    return tab;
  };
  /** The tab disappears without cleaning up (crash, or closed while frozen). */
  const kill = (tab) => {
    lockManager?.closeTab(tab.view);
    const { _tabs: tabsOf, _connection: connection } = tab.tocsin;
    tabsOf._started = false;
    tabsOf._channel?.close();
    connection.stop();
  };
  return { server, clock: shared.clock, locks: lockManager, open, kill, tabs };
}

const leaders = (tabs) => tabs.filter((t) => t.tocsin.isLeader);

test("with Web Locks only the leader tab connects; followers get everything through the channel", async () => {
  const { server, clock, open } = browser();
  const a = open();
  const b = open();
  a.tocsin.connect();
  b.tocsin.connect();
  await clock.tick();
  assert.equal(server.sockets.length, 1);
  assert.equal(a.tocsin.isLeader, true);
  assert.equal(b.tocsin.isLeader, false);
  server.publish("alice");
  server.publish("alice");
  await clock.tick();
  assert.deepEqual(seqs(a.events), [1, 2]);
  assert.deepEqual(seqs(b.events), [1, 2]);
  assert.equal(b.tocsin.state, "connected");
  assert.equal(b.tocsin.transport, "websocket");
  assert.deepEqual(b.tocsin.counts, { unread: 2, unseen: 2 });
  assert.deepEqual(b.events.state, ["connecting", "connected"]);
});

test("a tab opened later learns the state and counts from the leader at once", async () => {
  const { server, clock, open } = browser();
  const a = open();
  a.tocsin.connect();
  await clock.tick();
  server.publish("alice");
  await clock.tick();
  const b = open();
  b.tocsin.connect();
  await clock.tick();
  assert.equal(b.tocsin.state, "connected");
  assert.deepEqual(b.tocsin.counts, { unread: 1, unseen: 1 });
  assert.deepEqual(b.events.notification, [], "old news is for the inbox list, not an event");
});

test("when the leader tab closes, a follower takes over at once and resumes without loss", async () => {
  const { server, clock, open, kill } = browser();
  const a = open();
  const b = open();
  a.tocsin.connect();
  b.tocsin.connect();
  await clock.tick();
  server.publish("alice");
  await clock.tick();
  kill(a);
  server.publish("alice"); // nobody is connected
  await clock.tick();
  assert.equal(b.tocsin.isLeader, true);
  assert.equal(server.sockets.length, 2);
  assert.equal(server.sockets[1].messages[0].after, 1);
  server.publish("alice");
  await clock.tick();
  assert.deepEqual(seqs(b.events), [1, 2, 3]);
  assert.equal(b.tocsin.state, "connected");
});

test("disconnect() in the leader tab hands the connection over to another tab", async () => {
  const { server, clock, open } = browser();
  const a = open();
  const b = open();
  a.tocsin.connect();
  b.tocsin.connect();
  await clock.tick();
  a.tocsin.disconnect();
  await clock.tick();
  assert.equal(a.tocsin.state, "disconnected");
  assert.equal(b.tocsin.isLeader, true);
  server.publish("alice");
  await clock.tick();
  assert.deepEqual(seqs(b.events), [1]);
  assert.deepEqual(seqs(a.events), [], "a disconnected tab hears nothing");
});

test("an inbox action in any tab updates every tab at once; the server's echo is dropped", async () => {
  const { server, clock, open } = browser();
  const a = open();
  const b = open();
  const c = open({ user: "alice" }); // not connected, but names its user: hears local actions
  a.tocsin.connect();
  b.tocsin.connect();
  await clock.tick();
  const item = server.publish("alice");
  await clock.tick();
  const change = await b.tocsin.markRead(item.id); // from the follower
  await clock.tick();
  for (const tab of [a, b, c]) {
    assert.deepEqual(tab.events.change, [change]);
    assert.deepEqual(tab.tocsin.counts, { unread: 0, unseen: 0 });
  }
});

test("tabs of different users never share a connection", async () => {
  const { server, clock, open } = browser();
  const alice = open();
  const bob = open({ nextToken: () => fakeJwt("bob") });
  alice.tocsin.connect();
  bob.tocsin.connect();
  await clock.tick();
  assert.equal(server.sockets.length, 2);
  assert.equal(alice.tocsin.isLeader && bob.tocsin.isLeader, true);
  server.publish("alice");
  await clock.tick();
  assert.equal(alice.events.notification.length, 1);
  assert.equal(bob.events.notification.length, 0);
});

test("shareTabs: false gives each tab its own connection", async () => {
  const { server, clock, open } = browser();
  const a = open({ shareTabs: false });
  const b = open({ shareTabs: false });
  a.tocsin.connect();
  b.tocsin.connect();
  await clock.tick();
  assert.equal(server.sockets.length, 2);
  assert.equal(a.tocsin.isLeader && b.tocsin.isLeader, true);
});

test("without Web Locks: heartbeats elect one leader", async () => {
  const { server, clock, open, tabs } = browser({ locks: false });
  const a = open();
  const b = open();
  a.tocsin.connect();
  await clock.tick(100);
  b.tocsin.connect();
  await clock.tick(2 * CLAIM_WAIT_MS);
  assert.equal(leaders(tabs).length, 1);
  assert.equal(server.sockets.length, 1);
  await clock.tick(10 * HEARTBEAT_MS);
  assert.equal(leaders(tabs).length, 1, "a live leader keeps its place");
  server.publish("alice");
  await clock.tick();
  assert.deepEqual(seqs(b.events), [1]);
});

test("without Web Locks: a leader that vanishes is replaced within 2 s", async () => {
  const { server, clock, open, kill } = browser({ locks: false });
  const a = open();
  const b = open();
  a.tocsin.connect();
  await clock.tick(1_000);
  b.tocsin.connect();
  await clock.tick(1_000);
  assert.equal(a.tocsin.isLeader, true);
  kill(a); // no goodbye
  const start = clock.now();
  while (!b.tocsin.isLeader) await clock.tick(100);
  assert.ok(clock.now() - start <= 2_000, `took ${clock.now() - start} ms`);
  assert.ok(LEADER_TIMEOUT_MS < 2_000);
  await clock.tick(500);
  assert.equal(b.tocsin.state, "connected");
  assert.equal(server.sockets.length, 2);
});

test("without Web Locks: a leader that leaves says so and a follower takes over quickly", async () => {
  const { clock, open } = browser({ locks: false });
  const a = open();
  const b = open();
  a.tocsin.connect();
  await clock.tick(1_000);
  b.tocsin.connect();
  await clock.tick(1_000);
  a.tocsin.disconnect();
  await clock.tick(CLAIM_WAIT_MS + 100);
  assert.equal(b.tocsin.isLeader, true);
});

test("without Web Locks: two tabs claiming together end with one leader", async () => {
  const { clock, open, tabs } = browser({ locks: false });
  const a = open();
  const b = open();
  a.tocsin.connect(); // both connect in the same instant: both may claim
  b.tocsin.connect();
  await clock.tick(3_000);
  assert.equal(leaders(tabs).length, 1);
  const follower = tabs.find((t) => !t.tocsin.isLeader);
  assert.equal(follower.tocsin.state, "connected");
});

test("a tab created long before it connects starts from the browser's cursor, not its stale one", async () => {
  const { server, clock, open, kill } = browser();
  const a = open();
  a.tocsin.connect();
  await clock.tick(); // the browser's cursor is now 0
  const late = open(); // constructed now, connected much later
  for (let i = 0; i < 3; i += 1) server.publish("alice");
  await clock.tick();
  late.tocsin.connect();
  await clock.tick();
  kill(a);
  await clock.tick();
  assert.equal(late.tocsin.isLeader, true);
  assert.equal(server.sockets.at(-1).messages[0].after, 3);
  assert.deepEqual(late.events.notification, [], "what the other tab showed is not replayed here");
});

test("malformed or unknown messages on the channel are ignored", async () => {
  const { server, clock, open } = browser();
  const a = open();
  const b = open();
  a.tocsin.connect();
  b.tocsin.connect();
  await clock.tick();
  const channel = new a.tocsin._tabs._BroadcastChannel(a.tocsin._tabs.name);
  for (const junk of [
    null,
    42,
    "x",
    {},
    { kind: "envelope" },
    { kind: "envelope", envelope: null },
    { kind: "from-v2" },
  ]) {
    channel.postMessage(junk);
  }
  await clock.tick();
  server.publish("alice");
  await clock.tick();
  assert.deepEqual(seqs(b.events), [1]);
  assert.deepEqual(b.events.error, []);
  channel.close();
});
