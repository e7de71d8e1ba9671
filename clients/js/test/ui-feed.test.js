// The loaded items kept in step with pages, live items and read-state changes.
import assert from "node:assert/strict";
import test from "node:test";

import { Feed } from "../../../src/tocsin/web/static/js/ui/feed.js";
import { iconForType } from "../../../src/tocsin/web/static/js/ui/icons.js";

const T0 = Date.parse("2025-06-15T12:00:00.000Z");
const at = (s) => new Date(T0 + s * 1000).toISOString();
const item = (seq, fields = {}) => ({ id: "n" + seq, seq, title: "t" + seq, created_at: at(seq), read_at: null, seen_at: null, archived_at: null, expires_at: null, ...fields });
const NOW = T0 + 10_000_000;

test("pages and live items are held newest first, once each", () => {
  const feed = new Feed();
  assert.equal(feed.hasMore, false);
  feed.addPage({ items: [item(5), item(4)], next_cursor: "4" });
  assert.equal(feed.hasMore, true);
  assert.equal(feed.add(item(6)), true);
  assert.equal(feed.add(item(6)), false);
  assert.equal(feed.add({ id: "bad" }), false);
  feed.addPage({ items: [item(3)], next_cursor: null }, { older: true });
  assert.equal(feed.hasMore, false);
  assert.deepEqual(feed.visible(NOW).map((x) => x.seq), [6, 5, 4, 3]);
});

test("read, unread, seen and archived changes apply to the named items", () => {
  const feed = new Feed();
  feed.addPage({ items: [item(3), item(2), item(1)], next_cursor: null });
  assert.deepEqual(feed.apply({ action: "read", ids: ["n2"], all: false, at: at(100) }), ["n2"]);
  assert.equal(feed.get("n2").read_at, at(100));
  assert.equal(feed.get("n2").seen_at, at(100));
  feed.apply({ action: "unread", ids: ["n2"], all: false, at: at(101) });
  assert.equal(feed.get("n2").read_at, null);
  assert.equal(feed.get("n2").seen_at, at(100));
  feed.apply({ action: "archived", ids: ["n3", "unknown"], all: false, at: at(102) });
  assert.deepEqual(feed.visible(NOW).map((x) => x.seq), [2, 1]);
  assert.deepEqual(feed.apply({ action: "exploded", ids: ["n1"], at: at(103) }), []);
});

test("'all' changes cover the items created up to their time", () => {
  const feed = new Feed();
  feed.addPage({ items: [item(300), item(2), item(1)], next_cursor: null });
  feed.apply({ action: "seen", ids: null, all: true, at: at(200) });
  assert.equal(feed.get("n1").seen_at, at(200));
  assert.equal(feed.get("n300").seen_at, null);
  feed.apply({ action: "archived", ids: null, all: true, at: at(250) });
  assert.deepEqual(feed.visible(NOW).map((x) => x.seq), [300]);
});

test("a refreshed first page drops the items archived meanwhile", () => {
  const feed = new Feed();
  feed.addPage({ items: [item(9), item(8), item(7)], next_cursor: "7" });
  feed.addPage({ items: [item(6), item(5)], next_cursor: null }, { older: true });
  feed.addPage({ items: [item(10), item(9), item(7, { read_at: at(50) })], next_cursor: "7" }, { refresh: true });
  assert.deepEqual(feed.visible(NOW).map((x) => x.seq), [10, 9, 7, 6, 5]);
  assert.equal(feed.get("n7").read_at, at(50));
  feed.addPage({ items: [item(10)], next_cursor: null }, { refresh: true });
  assert.deepEqual(feed.visible(NOW).map((x) => x.seq), [10]);
});

test("expired items are not shown; archived live items are not added", () => {
  const feed = new Feed();
  feed.add(item(1, { expires_at: at(5) }));
  feed.add(item(2, { archived_at: at(5) }));
  assert.equal(feed.visible(T0 + 1000).length, 1);
  assert.equal(feed.visible(T0 + 6000).length, 0);
  feed.clear();
  assert.equal(feed.size, 0);
  assert.equal(feed.loaded, false);
});

test("types map to icons, by full name then by first part", () => {
  assert.equal(iconForType("message"), "message");
  assert.equal(iconForType("comment"), "message");
  assert.equal(iconForType("comment.reply"), "message");
  assert.equal(iconForType("like"), "heart");
  assert.equal(iconForType("friend_request"), "userPlus");
  assert.equal(iconForType("security"), "shield");
  assert.equal(iconForType("system"), "info");
  assert.equal(iconForType("anything-else"), "info");
  assert.equal(iconForType(undefined), "info");
  assert.equal(iconForType("__proto__"), "info");
});
