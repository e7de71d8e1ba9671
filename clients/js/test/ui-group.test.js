// Grouping items by data.group, and what a card says.
import assert from "node:assert/strict";
import test from "node:test";

import { actorsOf, groupItems, groupKey, headline, highestPriority } from "../../../src/tocsin/web/static/js/ui/group.js";
import { translator } from "../../../src/tocsin/web/static/js/ui/i18n.js";

let seq = 100;
function item(fields = {}) {
  seq -= 1;
  return { id: "n" + seq, seq, type: "like", title: "T", body: "", priority: "normal", actor: null, data: {}, read_at: null, seen_at: null, ...fields };
}
const actor = (id, name = id[0].toUpperCase() + id.slice(1)) => ({ id, name, avatar: null });
const en = translator("en");
const fr = translator("fr");

test("the group key is data.group (strings and numbers)", () => {
  assert.equal(groupKey(item({ data: { group: "post-1" } })), "g:post-1");
  assert.equal(groupKey(item({ data: { group: 7 } })), "g:7");
  assert.equal(groupKey(item({ data: { group: "" } })), null);
  assert.equal(groupKey(item({ data: { group: { a: 1 } } })), null);
  assert.equal(groupKey(item({ data: null })), null);
  assert.equal(groupKey(item()), null);
});

test("items with the same group become one entry at the place of the newest", () => {
  const a = item({ data: { group: "p" }, actor: actor("ana") });
  const b = item({ title: "alone" });
  const c = item({ data: { group: "p" }, actor: actor("bob"), read_at: "2025-01-01T00:00:00Z" });
  const d = item({ data: { group: "q" } });
  const e = item({ data: { group: "p" }, actor: actor("cid") });
  const entries = groupItems([a, b, c, d, e]);
  assert.deepEqual(entries.map((entry) => entry.items.map((x) => x.id)), [[a.id, c.id, e.id], [b.id], [d.id]]);
  assert.equal(entries[0].lead, a);
  assert.equal(entries[0].key, "g:p");
  assert.equal(entries[1].key, "i:" + b.id);
  assert.equal(entries[0].unread, true);
  assert.equal(groupItems([c])[0].unread, false);
});

test("a group of likes reads 'Ana and 4 others liked your post'", () => {
  const names = ["ana", "bob", "cid", "dee", "eve"];
  const items = names.map((name) => item({ actor: actor(name), data: { group: "post-1", summary: "liked your post" } }));
  const text = headline(groupItems(items)[0], en);
  assert.equal(text.title, "Ana and 4 others liked your post");
  assert.equal(text.who, "Ana, Bob, Cid, Dee, and Eve"); // the title counts, the actors line names
  assert.equal(headline(groupItems(items.slice(0, 2))[0], en).who, "Ana and Bob");
  assert.equal(text.count, 5);
  assert.equal(headline(groupItems(items)[0], fr).title, "Ana et 4 autres liked your post");
  assert.equal(headline(groupItems(items)[0], fr).who, "Ana, Bob, Cid, Dee et Eve");
});

test("two actors are named; one other is singular", () => {
  const two = [item({ actor: actor("ana") }), item({ actor: actor("bob") })].map((x) => ({ ...x, data: { group: "g" } }));
  assert.equal(headline(groupItems(two)[0], en).who, "Ana and Bob");
  const three = [...two, { ...item({ actor: actor("cid") }), data: { group: "g" } }];
  assert.equal(headline(groupItems(three)[0], en).who, "Ana and 2 others");
  const repeated = [item({ actor: actor("ana") }), item({ actor: actor("ana") })].map((x) => ({ ...x, data: { group: "g" } }));
  assert.equal(headline(groupItems(repeated)[0], en).who, "Ana");
});

test("without a summary a group keeps the newest title", () => {
  const items = [item({ title: "Newest", actor: actor("ana") }), item({ title: "Older", actor: actor("bob") })].map((x) => ({ ...x, data: { group: "g" } }));
  const text = headline(groupItems(items)[0], en);
  assert.equal(text.title, "Newest");
  assert.equal(text.who, "Ana and Bob");
});

test("no actor: the source, or 'System Alert'", () => {
  assert.equal(headline(groupItems([item()])[0], en).who, "System Alert");
  assert.equal(headline(groupItems([item()])[0], en).system, true);
  assert.equal(headline(groupItems([item()])[0], fr).who, "Alerte système");
  assert.equal(headline(groupItems([item({ data: { source: "Billing" } })])[0], en).who, "Billing");
});

test("an actor without a name shows its id", () => {
  assert.equal(headline(groupItems([item({ actor: { id: "u-42", name: null } })])[0], en).who, "u-42");
  assert.equal(headline(groupItems([item({ actor: { id: "u-42", name: "  " } })])[0], en).who, "u-42");
});

test("actors are distinct and in order", () => {
  const items = [item({ actor: actor("b") }), item({ actor: actor("a") }), item({ actor: actor("b") }), item()];
  assert.deepEqual(actorsOf(items).map((a) => a.id), ["b", "a"]);
});

test("a group takes its most urgent priority", () => {
  assert.equal(highestPriority([{ priority: "low" }, { priority: "high" }, { priority: "normal" }]), "high");
  assert.equal(highestPriority([{ priority: "low" }]), "low");
  assert.equal(highestPriority([{ priority: "weird" }]), "normal");
  assert.equal(highestPriority([]), "normal");
});
