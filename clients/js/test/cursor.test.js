import assert from "node:assert/strict";
import test from "node:test";

import { Cursor, Dedupe, cursorKey } from "../../../src/tocsin/web/static/js/cursor.js";
import { FakeServer, FakeStorage } from "../support/fakes.js";
import { makeClient, seqs } from "../support/client.js";

const URL = "https://notify.example.com";

test("the cursor survives a reload through storage", () => {
  const storage = new FakeStorage();
  const first = new Cursor({ storage, url: URL });
  assert.equal(first.seq, null);
  first.reset("alice", 10);
  first.advance(12);
  const reloaded = new Cursor({ storage, url: URL });
  assert.equal(reloaded.user, "alice");
  assert.equal(reloaded.seq, 12);
  assert.deepEqual(JSON.parse(storage.getItem(cursorKey(URL))), { user: "alice", seq: 12 });
});

test("one key per server URL", () => {
  const storage = new FakeStorage();
  new Cursor({ storage, url: URL }).reset("alice", 5);
  assert.equal(new Cursor({ storage, url: "https://other.example.com" }).seq, null);
});

test("another user resets the cursor; the same or an unknown user keeps it", () => {
  const cursor = new Cursor({ storage: new FakeStorage(), url: URL });
  cursor.reset("alice", 7);
  cursor.forUser("alice");
  cursor.forUser(null);
  assert.equal(cursor.seq, 7);
  cursor.forUser("bob");
  assert.equal(cursor.user, "bob");
  assert.equal(cursor.seq, null);
});

test("advance never goes back; set may (the server's position wins)", () => {
  const cursor = new Cursor({ storage: null, url: URL });
  assert.equal(cursor.advance(5), true);
  assert.equal(cursor.advance(3), false);
  assert.equal(cursor.advance(5), false);
  assert.equal(cursor.seq, 5);
  cursor.set(2);
  assert.equal(cursor.seq, 2);
  cursor.advance(Number.NaN);
  assert.equal(cursor.seq, 2);
});

test("malformed or foreign stored values count as no cursor", () => {
  for (const value of [
    "{",
    "42",
    '{"user":1,"seq":2}',
    '{"user":"a","seq":-1}',
    '{"user":"a","seq":1.5}',
    "null",
  ]) {
    const cursor = new Cursor({ storage: new FakeStorage({ [cursorKey(URL)]: value }), url: URL });
    assert.equal(cursor.seq, null, value);
  }
});

test("a storage that throws (privacy mode, quota) still gives a working in-memory cursor", () => {
  const storage = {
    getItem() {
      throw new Error("SecurityError");
    },
    setItem() {
      throw new Error("QuotaExceededError");
    },
  };
  const cursor = new Cursor({ storage, url: URL });
  cursor.reset("alice", 3);
  cursor.advance(4);
  assert.equal(cursor.seq, 4);
});

test("a cursor that is not writable (a follower tab) does not persist", () => {
  const storage = new FakeStorage();
  const cursor = new Cursor({ storage, url: URL });
  cursor.writable = false;
  cursor.reset("alice", 9);
  assert.equal(storage.getItem(cursorKey(URL)), null);
  assert.equal(cursor.seq, 9);
});

test("Dedupe remembers a bounded number of recent keys, oldest forgotten first", () => {
  const dedupe = new Dedupe(3);
  assert.equal(dedupe.add("a"), true);
  assert.equal(dedupe.add("b"), true);
  assert.equal(dedupe.add("a"), false);
  dedupe.add("c");
  dedupe.add("d"); // evicts b (a was refreshed)
  assert.equal(dedupe.size, 3);
  assert.equal(dedupe.has("b"), false);
  assert.equal(dedupe.has("a"), true);
  assert.equal(dedupe.add("b"), true);
});

test("a reloaded page resumes after its stored cursor and shows only what it missed", async () => {
  const server = new FakeServer();
  const storage = new FakeStorage();
  const page1 = makeClient(server, { storage });
  page1.tocsin.connect();
  await page1.clock.tick();
  server.publish("alice");
  server.publish("bob");
  server.publish("alice");
  await page1.clock.tick();
  assert.deepEqual(seqs(page1.events), [1, 3]);
  page1.tocsin.disconnect(); // the page goes away
  server.publish("alice");
  server.publish("alice");

  const page2 = makeClient(server, { storage }); // the "reload": same storage
  page2.tocsin.connect();
  await page2.clock.tick();
  const auth = server.sockets.at(-1).messages[0];
  assert.equal(auth.after, 3);
  assert.deepEqual(seqs(page2.events), [4, 5]);
  assert.deepEqual(JSON.parse(storage.getItem(cursorKey(server.url))), { user: "alice", seq: 5 });
});

test("a first visit sends no after and starts at ready.seq", async () => {
  const server = new FakeServer();
  server.publish("alice");
  server.publish("alice");
  const { tocsin, clock, events } = makeClient(server);
  tocsin.connect();
  await clock.tick();
  assert.equal("after" in server.sockets[0].messages[0], false);
  assert.deepEqual(events.notification, []);
  server.publish("alice");
  await clock.tick();
  assert.deepEqual(seqs(events), [3]);
});
