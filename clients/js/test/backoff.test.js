import assert from "node:assert/strict";
import test from "node:test";

import { Backoff } from "../../../src/tocsin/web/static/js/backoff.js";

test("delays stay within [0, min(cap, base * 2^n))", () => {
  const backoff = new Backoff({ random: () => 0.999999 });
  const ceilings = [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000];
  for (const ceiling of ceilings) {
    const delay = backoff.next();
    assert.ok(delay >= 0 && delay < ceiling, `${delay} < ${ceiling}`);
    assert.ok(delay >= ceiling * 0.99, "a random near 1 gives a delay near the ceiling");
  }
});

test("full jitter: a random of 0 gives no wait, the spread covers the window", () => {
  assert.equal(new Backoff({ random: () => 0 }).next(), 0);
  const values = [0.1, 0.5, 0.9];
  const delays = values.map((r) => new Backoff({ random: () => r }).next());
  assert.deepEqual(delays, [50, 250, 450]);
});

test("real randomness: many delays are spread, none above the cap", () => {
  const backoff = new Backoff();
  for (let i = 0; i < 20; i += 1) backoff.next();
  const delays = Array.from({ length: 200 }, () => backoff.next());
  assert.ok(delays.every((d) => d >= 0 && d < 30_000));
  assert.ok(new Set(delays).size > 150, "jittered, not constant");
});

test("the attempt counter stops growing at the cap (no overflow) and reset starts over", () => {
  const backoff = new Backoff({ random: () => 0.5 });
  for (let i = 0; i < 2000; i += 1) backoff.next();
  assert.ok(backoff.attempt < 10);
  assert.equal(backoff.next(), 15_000);
  backoff.reset();
  assert.equal(backoff.attempt, 0);
  assert.equal(backoff.next(), 250);
});

test("base and cap are configurable", () => {
  const backoff = new Backoff({ base: 100, cap: 300, random: () => 0.999 });
  assert.deepEqual(
    [backoff.next(), backoff.next(), backoff.next(), backoff.next()].map(
      (d) => Math.ceil(d / 10) * 10,
    ),
    [100, 200, 300, 300],
  );
});
