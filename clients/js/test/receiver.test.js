import assert from "node:assert/strict";
import test from "node:test";

import { Cursor } from "../../../src/tocsin/web/static/js/cursor.js";
import { Receiver } from "../../../src/tocsin/web/static/js/receiver.js";

function setup({ user = null, seq = null } = {}) {
  const cursor = new Cursor({ storage: null, url: "https://x" });
  if (user !== null || seq !== null) cursor.reset(user, seq);
  const events = [];
  const receiver = new Receiver({ cursor, emit: (name, value) => events.push([name, value]) });
  const names = (name) => events.filter(([n]) => n === name).map(([, v]) => v);
  return { cursor, receiver, events, names };
}

const note = (seq, id = `n${seq}`) => ({
  type: "notification",
  seq,
  notification: { id, seq, title: "t" },
});
const ready = (seq, user = "alice", counts = { unread: 1, unseen: 2 }) => ({
  type: "ready",
  user,
  seq,
  counts,
  heartbeat: 25,
});
const fresh = { sentAfter: false };
const resuming = { sentAfter: true };

test("ready without after: the cursor becomes ready.seq and counts are emitted", () => {
  const { receiver, cursor, names } = setup();
  receiver.handle(ready(40), fresh);
  assert.equal(cursor.seq, 40);
  assert.equal(cursor.user, "alice");
  assert.deepEqual(names("counts"), [{ unread: 1, unseen: 2 }]);
  assert.deepEqual(receiver.counts, { unread: 1, unseen: 2 });
});

test("ready with after leaves the cursor; the replay moves it; resumed sets it", () => {
  const { receiver, cursor, names } = setup({ user: "alice", seq: 10 });
  receiver.handle(ready(50), resuming);
  assert.equal(cursor.seq, 10);
  receiver.handle(note(12), resuming);
  receiver.handle(note(30), resuming);
  assert.equal(cursor.seq, 30);
  receiver.handle({ type: "resumed", after: 10, seq: 50, count: 2 }, resuming);
  assert.equal(cursor.seq, 50);
  assert.deepEqual(
    names("notification").map((n) => n.seq),
    [12, 30],
  );
});

test("notifications are emitted once each, in seq order: repeats by seq or by id are dropped", () => {
  const { receiver, names } = setup({ user: "alice", seq: 10 });
  for (const env of [note(9), note(10), note(11), note(11), note(12, "n11"), note(8), note(13)]) {
    receiver.handle(env, resuming);
  }
  assert.deepEqual(
    names("notification").map((n) => n.seq),
    [11, 13],
  );
});

test("the emitted value is the notification item itself", () => {
  const { receiver, names } = setup({ user: "alice", seq: 0 });
  const env = note(1);
  receiver.handle(env, resuming);
  assert.equal(names("notification")[0], env.notification);
});

test("a ready.seq below the cursor (the server's stream restarted) pulls the cursor back", () => {
  const { receiver, cursor, names } = setup({ user: "alice", seq: 900 });
  receiver.handle(ready(5), resuming);
  assert.equal(cursor.seq, 5);
  receiver.handle(note(6), resuming);
  assert.deepEqual(
    names("notification").map((n) => n.seq),
    [6],
  );
});

test("a ready for another user starts a new cursor at ready.seq and skips the replay", () => {
  const { receiver, cursor, names } = setup({ user: "bob", seq: 10 });
  receiver.handle(ready(50, "alice"), resuming);
  assert.equal(cursor.user, "alice");
  assert.equal(cursor.seq, 50);
  receiver.handle(note(20), resuming); // alice's replay after bob's cursor: old news
  receiver.handle({ type: "resumed", after: 10, seq: 50, count: 1 }, resuming);
  receiver.handle(note(51), resuming);
  assert.deepEqual(
    names("notification").map((n) => n.seq),
    [51],
  );
});

test("state frames become change events (without type) with their counts", () => {
  const { receiver, names } = setup();
  const frame = {
    type: "state",
    action: "read",
    ids: ["n1"],
    all: false,
    at: "2025-01-01T00:00:00.000Z",
    counts: { unread: 0, unseen: 0 },
  };
  receiver.handle(frame, fresh);
  const { type: _t, ...change } = frame;
  assert.deepEqual(names("change"), [change]);
  assert.deepEqual(names("counts"), [{ unread: 0, unseen: 0 }]);
});

test("the same change twice (a local action and the server's echo) is emitted once", () => {
  const { receiver, names } = setup();
  const change = {
    action: "read",
    ids: null,
    all: true,
    at: "2025-01-01T00:00:00.000Z",
    counts: { unread: 0, unseen: 0 },
  };
  assert.equal(receiver.applyChange(change), true);
  receiver.handle({ type: "state", ...change }, fresh);
  assert.equal(names("change").length, 1);
  assert.equal(names("counts").length, 1);
  receiver.applyChange({ ...change, at: "2025-01-01T00:00:01.000Z" });
  assert.equal(names("change").length, 2, "a later change with the same action is new");
});

test("counts are emitted only when they change", () => {
  const { receiver, names } = setup();
  receiver.applyCounts({ unread: 1, unseen: 1 });
  receiver.applyCounts({ unread: 1, unseen: 1 });
  receiver.applyCounts({ unread: 2, unseen: 1 });
  assert.deepEqual(names("counts"), [
    { unread: 1, unseen: 1 },
    { unread: 2, unseen: 1 },
  ]);
  assert.ok(Object.isFrozen(receiver.counts));
});

test("error frames become error events, except those that only announce a token refresh", () => {
  const { receiver, names } = setup();
  receiver.handle({ type: "error", code: "invalid_message", message: "bad" }, fresh);
  receiver.handle(
    { type: "error", code: "token_expired", message: "The token expired; reconnect." },
    fresh,
  );
  receiver.handle({ type: "error", code: "invalid_token", message: "nope" }, fresh);
  const errors = names("error");
  assert.equal(errors.length, 1);
  assert.equal(errors[0].name, "TocsinError");
  assert.equal(errors[0].code, "invalid_message");
  assert.equal(errors[0].message, "bad");
});

test("position (long-polling's cursor and counts) moves the cursor forward only", () => {
  const { receiver, cursor, names } = setup({ user: "alice", seq: 10 });
  receiver.handle({ type: "position", seq: 20, counts: { unread: 3, unseen: 3 } }, resuming);
  receiver.handle({ type: "position", seq: 15, counts: null }, resuming);
  assert.equal(cursor.seq, 20);
  assert.deepEqual(names("counts"), [{ unread: 3, unseen: 3 }]);
});

test("ping, pong and unknown envelope types are ignored", () => {
  const { receiver, events } = setup();
  for (const type of ["ping", "pong", "from-the-future"]) receiver.handle({ type }, fresh);
  assert.deepEqual(events, []);
});

test("a live notification newer than the counts adds itself to them", () => {
  const { receiver, names } = setup();
  receiver.handle(ready(10, "alice", { unread: 3, unseen: 1 }), fresh);
  receiver.handle(note(11), fresh);
  const read = {
    type: "notification",
    seq: 12,
    notification: { id: "n12", seq: 12, read_at: "x", seen_at: "x" },
  };
  receiver.handle(read, fresh);
  const seen = {
    type: "notification",
    seq: 13,
    notification: { id: "n13", seq: 13, read_at: null, seen_at: "x" },
  };
  receiver.handle(seen, fresh);
  assert.deepEqual(names("counts"), [
    { unread: 3, unseen: 1 },
    { unread: 4, unseen: 2 },
    { unread: 5, unseen: 2 },
  ]);
});

test("replayed notifications are already in ready's counts and do not add to them", () => {
  const { receiver, names } = setup({ user: "alice", seq: 5 });
  receiver.handle(ready(10, "alice", { unread: 2, unseen: 2 }), resuming);
  receiver.handle(note(7), resuming);
  receiver.handle(note(9), resuming);
  receiver.handle({ type: "resumed", after: 5, seq: 10, count: 2 }, resuming);
  assert.deepEqual(names("counts"), [{ unread: 2, unseen: 2 }]);
  receiver.handle(note(11), resuming);
  assert.deepEqual(receiver.counts, { unread: 3, unseen: 3 });
});

test("without a known counting position (HTTP counts only) notifications leave counts alone", () => {
  const { receiver } = setup({ user: "alice", seq: 5 });
  receiver.applyCounts({ unread: 1, unseen: 1 });
  receiver.handle(note(6), resuming);
  assert.deepEqual(receiver.counts, { unread: 1, unseen: 1 });
});
