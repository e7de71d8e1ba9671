// The inbox store behind <tocsin-bell> and the React hook, driven by a fake client.
import assert from "node:assert/strict";
import test from "node:test";

import { InboxStore } from "../../../src/tocsin/web/static/js/ui/store.js";

const T0 = Date.parse("2025-06-15T12:00:00.000Z");
const at = (s) => new Date(T0 + s * 1000).toISOString();
const item = (seq, fields = {}) => ({
  id: "n" + seq, seq, type: "like", title: "t" + seq, priority: "normal", actor: null, data: {},
  created_at: at(seq), read_at: null, seen_at: null, archived_at: null, expires_at: null, ...fields,
});
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A client with the public surface of Tocsin: events, counts, state, and an inbox in memory. */
class FakeClient {
  constructor(items = []) {
    this.url = "https://tocsin.example";
    this.items = items; // newest first
    this.state = "disconnected";
    this.counts = null;
    this.calls = [];
    this.listeners = new Map();
  }
  on(event, fn) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(fn);
    return () => this.listeners.get(event).delete(fn);
  }
  emit(event, value) {
    for (const fn of this.listeners.get(event) ?? []) fn(value);
  }
  listening() {
    return [...this.listeners.values()].reduce((n, set) => n + set.size, 0);
  }
  setCounts(counts) {
    this.counts = counts;
    this.emit("counts", counts);
  }
  async list({ cursor, limit }) {
    this.calls.push(["list", cursor ?? null, limit]);
    const start = cursor ? this.items.findIndex((x) => x.seq < Number(cursor)) : 0;
    const page = start === -1 ? [] : this.items.slice(start, start + limit);
    const counts = { unread: this.items.filter((x) => !x.read_at).length, unseen: this.items.filter((x) => !x.seen_at).length };
    this.setCounts(counts);
    return { items: page, next_cursor: page.length === limit ? String(page.at(-1).seq) : null, counts };
  }
  async fetchCounts() {
    this.calls.push(["fetchCounts"]);
    return this.counts;
  }
  async markRead(id) {
    this.calls.push(["markRead", id]);
    const change = { action: "read", ids: [id], all: false, at: at(1000), counts: { unread: 0, unseen: 0 } };
    this.emit("change", change); // as the real client does: the change, then its counts
    this.setCounts(change.counts);
    return change;
  }
  async markAllSeen() {
    this.calls.push(["markAllSeen"]);
    return { action: "seen", ids: null, all: true, at: at(1000), counts: { unread: 0, unseen: 0 } };
  }
}

test("start loads the first page into a snapshot with items, groups and counts", async () => {
  const client = new FakeClient([item(3, { data: { group: "g" } }), item(2, { data: { group: "g" } }), item(1)]);
  const store = new InboxStore(client, { pageSize: 2 });
  const before = store.getSnapshot();
  assert.equal(before.loaded, false);
  store.start();
  await tick();
  const snap = store.getSnapshot();
  assert.notEqual(snap, before);
  assert.equal(snap, store.getSnapshot(), "the same snapshot until something changes");
  assert.deepEqual(snap.items.map((x) => x.id), ["n3", "n2"]);
  assert.deepEqual(snap.groups.map((g) => g.key), ["g:g"]);
  assert.deepEqual(snap.counts, { unread: 3, unseen: 3 });
  assert.equal(snap.hasMore, true);
  assert.equal(Object.isFrozen(snap), true);
});

test("loadMore follows the cursor until the last page", async () => {
  const client = new FakeClient([item(5), item(4), item(3), item(2), item(1)]);
  const store = new InboxStore(client, { pageSize: 2 });
  store.start();
  await tick();
  assert.equal(await store.loadMore(), true);
  assert.equal(await store.loadMore(), true);
  assert.equal(store.getSnapshot().hasMore, false);
  assert.equal(await store.loadMore(), false);
  assert.deepEqual(store.getSnapshot().items.map((x) => x.seq), [5, 4, 3, 2, 1]);
  assert.deepEqual(client.calls.filter((c) => c[0] === "list").map((c) => c[1]), [null, "4", "2"]);
});

test("a live notification is added once, bumps the counts, and is announced once", async () => {
  const client = new FakeClient([]);
  const store = new InboxStore(client, { random: () => 0 });
  const announced = [];
  store.onNew((x) => announced.push(x.id));
  let renders = 0;
  store.subscribe(() => renders++);
  store.start();
  await tick();
  client.emit("notification", item(7));
  client.emit("notification", item(7));
  client.emit("notification", item(6, { read_at: at(6) })); // replayed, already read elsewhere
  assert.deepEqual(announced, ["n7"]);
  assert.deepEqual(store.getSnapshot().counts, { unread: 1, unseen: 1 });
  assert.deepEqual(store.getSnapshot().items.map((x) => x.id), ["n7", "n6"]);
  assert.ok(renders >= 3);
  await new Promise((resolve) => setTimeout(resolve, 350));
  assert.deepEqual(client.calls.at(-1), ["fetchCounts"], "exact counts are fetched afterwards");
  store.stop();
});

test("changes replace the touched items; actions go to the client", async () => {
  const client = new FakeClient([item(2), item(1)]);
  const store = new InboxStore(client);
  store.start();
  await tick();
  const [first, second] = store.getSnapshot().items;
  await store.actions.markRead(["n2"]);
  const [after, untouched] = store.getSnapshot().items;
  assert.notEqual(after, first);
  assert.equal(after.read_at, at(1000));
  assert.equal(untouched, second);
  assert.deepEqual(store.getSnapshot().counts, { unread: 0, unseen: 0 });
  client.emit("change", { action: "archived", ids: null, all: true, at: at(1000) });
  assert.deepEqual(store.getSnapshot().items, []);
});

test("a reconnect fetches the first page again; the first connect does not", async () => {
  const client = new FakeClient([item(1)]);
  const store = new InboxStore(client);
  store.start();
  await tick();
  const lists = () => client.calls.filter((c) => c[0] === "list").length;
  client.emit("state", "connecting");
  client.emit("state", "connected");
  assert.equal(lists(), 1);
  client.emit("state", "connecting");
  assert.equal(store.getSnapshot().everConnected, true);
  client.emit("state", "connected");
  assert.equal(lists(), 2);
});

test("stop unsubscribes from the client and forgets the items", async () => {
  const client = new FakeClient([item(1)]);
  const store = new InboxStore(client);
  store.start();
  store.start();
  await tick();
  assert.equal(client.listening(), 4);
  store.stop();
  assert.equal(client.listening(), 0);
  assert.deepEqual(store.getSnapshot().items, []);
  assert.equal(store.getSnapshot().loaded, false);
  client.emit("notification", item(2));
  assert.deepEqual(store.getSnapshot().items, []);
});

test("a failing first page is reported in the snapshot; refresh retries", async () => {
  const client = new FakeClient([item(1)]);
  const list = client.list.bind(client);
  client.list = async () => {
    throw new Error("offline");
  };
  const store = new InboxStore(client);
  store.start();
  await tick();
  assert.equal(store.getSnapshot().error.message, "offline");
  client.list = list;
  await store.refresh();
  assert.equal(store.getSnapshot().error, null);
  assert.equal(store.getSnapshot().items.length, 1);
});
