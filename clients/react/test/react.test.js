// useTocsin and <TocsinBell> with React (npm install in clients/react first; see README).
import assert from "node:assert/strict";
import test from "node:test";

import { createElement, StrictMode } from "react";
import TestRenderer, { act } from "react-test-renderer";

import { InboxStore } from "../../../src/tocsin/web/static/js/ui/store.js";
import { TocsinBell, useTocsin } from "../index.js";

globalThis.IS_REACT_ACT_ENVIRONMENT = true;

const item = (seq, fields = {}) => ({
  id: "n" + seq, seq, type: "like", title: "t" + seq, priority: "normal", actor: null, data: {},
  created_at: new Date(1_750_000_000_000 + seq).toISOString(), read_at: null, seen_at: null,
  archived_at: null, expires_at: null, ...fields,
});

const made = [];

/** The public surface of the browser client, in memory. */
class FakeTocsin {
  constructor(options) {
    this.options = options;
    this.url = options.url;
    this.state = "disconnected";
    this.counts = null;
    this.items = [item(2), item(1)];
    this.listeners = new Map();
    this.calls = [];
    made.push(this);
  }
  on(event, fn) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(fn);
    return () => this.listeners.get(event).delete(fn);
  }
  emit(event, value) {
    for (const fn of [...(this.listeners.get(event) ?? [])]) fn(value);
  }
  connect() {
    this.calls.push("connect");
    this.state = "connected";
    this.emit("state", "connected");
  }
  disconnect() {
    this.calls.push("disconnect");
  }
  async list() {
    const counts = { unread: this.items.length, unseen: this.items.length };
    this.counts = counts;
    this.emit("counts", counts);
    return { items: this.items, next_cursor: null, counts };
  }
  async fetchCounts() {
    return this.counts;
  }
  async markRead(id) {
    this.calls.push("markRead:" + id);
    const change = { action: "read", ids: [id], all: false, at: new Date().toISOString(), counts: { unread: 1, unseen: 1 } };
    this.emit("change", change);
    this.emit("counts", change.counts);
    return change;
  }
}

const modules = { Tocsin: FakeTocsin, InboxStore };
const settle = () => act(() => new Promise((resolve) => setTimeout(resolve, 5)));

function Probe({ options, seen }) {
  seen.current = useTocsin(options);
  return null;
}

const probe = (options, seen) => createElement(Probe, { options, seen });

test("useTocsin creates a client, loads the inbox and follows it live", async () => {
  made.length = 0;
  const seen = {};
  const token = async () => "jwt";
  let renderer;
  await act(() => {
    renderer = TestRenderer.create(probe({ url: "https://t.example", token, modules, transports: ["sse"] }, seen));
  });
  await settle();
  assert.equal(made.length, 1);
  const client = made[0];
  assert.equal(client.options.url, "https://t.example");
  assert.deepEqual(client.options.transports, ["sse"]);
  assert.equal(await client.options.token(), "jwt");
  assert.deepEqual(seen.current.notifications.map((x) => x.id), ["n2", "n1"]);
  assert.deepEqual(seen.current.counts, { unread: 2, unseen: 2 });
  assert.equal(seen.current.state, "connected");
  assert.equal(seen.current.loaded, true);
  assert.equal(seen.current.client, client);

  await act(() => client.emit("notification", item(3)));
  assert.deepEqual(seen.current.notifications.map((x) => x.id), ["n3", "n2", "n1"]);
  assert.equal(seen.current.counts.unread, 3);

  await act(() => seen.current.actions.markRead("n3"));
  assert.ok(client.calls.includes("markRead:n3"));
  assert.ok(seen.current.notifications[0].read_at);

  await act(() => renderer.unmount());
  assert.ok(client.calls.includes("disconnect"));
  assert.equal([...client.listeners.values()].reduce((n, set) => n + set.size, 0), 0);
});

test("a given client is connected but never disconnected", async () => {
  made.length = 0;
  const client = new FakeTocsin({ url: "https://t.example" });
  const seen = {};
  let renderer;
  await act(() => {
    renderer = TestRenderer.create(createElement(StrictMode, null, probe({ client, modules }, seen)));
  });
  await settle();
  assert.equal(made.length, 1, "no client of its own");
  assert.equal(seen.current.notifications.length, 2);
  await act(() => renderer.unmount());
  assert.ok(!client.calls.includes("disconnect"));
});

test("a new token function each render keeps the client; a new string token replaces it", async () => {
  made.length = 0;
  const seen = {};
  let renderer;
  await act(() => {
    renderer = TestRenderer.create(probe({ url: "https://t.example", token: async () => "a", modules }, seen));
  });
  await settle();
  await act(() => renderer.update(probe({ url: "https://t.example", token: async () => "b", modules }, seen)));
  await settle();
  assert.equal(made.length, 1);
  assert.equal(await made[0].options.token(), "b", "the latest function is called");
  await act(() => renderer.update(probe({ url: "https://t.example", token: "jwt-of-bob", modules }, seen)));
  await settle();
  assert.equal(made.length, 2);
  assert.ok(made[0].calls.includes("disconnect"));
  await act(() => renderer.unmount());
});

test("before the client exists, actions reject and the snapshot is empty", async () => {
  const seen = {};
  let renderer;
  await act(() => {
    renderer = TestRenderer.create(probe({ url: "https://t.example", modules }, seen)); // no token yet
  });
  assert.deepEqual(seen.current.notifications, []);
  assert.equal(seen.current.state, "disconnected");
  await assert.rejects(seen.current.actions.markAllRead(), /not connected yet/);
  await act(() => renderer.unmount());
});

test("TocsinBell renders <tocsin-bell> and sets properties and listeners on it", async () => {
  const listeners = new Map();
  const node = {
    addEventListener: (name, fn) => listeners.set(name, fn),
    removeEventListener: (name) => listeners.delete(name),
  };
  globalThis.customElements = { get: () => true }; // defined already: nothing to load
  const opened = [];
  const rules = { low: { toast: true } };
  let renderer;
  await act(() => {
    renderer = TestRenderer.create(
      createElement(TocsinBell, {
        url: "https://t.example",
        token: () => "jwt",
        rules,
        locale: "fr",
        toastDuration: 3000,
        shareTabs: false,
        className: "bell",
        onOpen: (event) => opened.push(event.detail.url),
      }),
      { createNodeMock: () => node },
    );
  });
  const element = renderer.root.findByType("tocsin-bell");
  assert.equal(element.props.url, "https://t.example");
  assert.equal(element.props.locale, "fr");
  assert.equal(element.props["toast-duration"], 3000);
  assert.equal(element.props["share-tabs"], "false");
  assert.equal(element.props.className, "bell");
  assert.equal(node.token(), "jwt");
  assert.equal(node.rules, rules);
  assert.equal(node.client, null);
  listeners.get("tocsin-open")({ detail: { url: "https://t.example/x" } });
  assert.deepEqual(opened, ["https://t.example/x"]);
  await act(() => renderer.unmount());
  assert.equal(listeners.size, 0);
  delete globalThis.customElements;
});
