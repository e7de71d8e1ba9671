// Badge text, relative times, initials and colours.
import assert from "node:assert/strict";
import test from "node:test";

import { absoluteTime, badgeText, hueOf, initials, relativeTime, toMillis } from "../../../src/tocsin/web/static/js/ui/format.js";

const NOW = Date.parse("2025-06-15T12:00:00.000Z");
const ago = (ms) => new Date(NOW - ms).toISOString();
const MIN = 60_000;

test("the badge shows counts up to 99, then 99+", () => {
  assert.equal(badgeText(0), "");
  assert.equal(badgeText(-3), "");
  assert.equal(badgeText(null), "");
  assert.equal(badgeText(1), "1");
  assert.equal(badgeText(99), "99");
  assert.equal(badgeText(100), "99+");
  assert.equal(badgeText(123456), "99+");
});

test("relative times in English", () => {
  assert.equal(relativeTime(ago(5_000), NOW, "en"), "now");
  assert.equal(relativeTime(ago(2 * MIN), NOW, "en"), "2 min. ago");
  assert.equal(relativeTime(ago(60 * MIN), NOW, "en"), "1 hr. ago");
  assert.equal(relativeTime(ago(3 * 60 * MIN), NOW, "en"), "3 hr. ago");
  assert.equal(relativeTime(ago(24 * 60 * MIN), NOW, "en"), "yesterday");
  assert.equal(relativeTime(ago(3 * 24 * 60 * MIN), NOW, "en"), "3 days ago");
  assert.equal(relativeTime(ago(14 * 24 * 60 * MIN), NOW, "en"), "2 wk. ago");
  assert.equal(relativeTime(ago(400 * 24 * 60 * MIN), NOW, "en"), "last yr.");
});

test("relative times in French", () => {
  assert.match(relativeTime(ago(2 * MIN), NOW, "fr"), /^il y a\s2\smin$/u); // ICU uses a no-break space
  assert.equal(relativeTime(ago(24 * 60 * MIN), NOW, "fr"), "hier");
});

test("a date slightly in the future reads as now; garbage reads as nothing", () => {
  assert.equal(relativeTime(new Date(NOW + 90_000).toISOString(), NOW, "en"), "now");
  assert.equal(relativeTime("not a date", NOW, "en"), "");
  assert.equal(relativeTime(null, NOW, "en"), "");
});

test("absolute time for tooltips", () => {
  assert.match(absoluteTime("2025-06-15T12:00:00.000Z", "en"), /2025/);
  assert.equal(absoluteTime("nope", "en"), "");
});

test("toMillis reads ISO strings, numbers and dates", () => {
  assert.equal(toMillis("2025-06-15T12:00:00.000Z"), NOW);
  assert.equal(toMillis(NOW), NOW);
  assert.equal(toMillis(new Date(NOW)), NOW);
  assert.equal(toMillis(""), null);
  assert.equal(toMillis(undefined), null);
});

test("initials take the first letters of two words", () => {
  assert.equal(initials("Ana Lima"), "AL");
  assert.equal(initials("bob"), "B");
  assert.equal(initials("  émile   zola  durand "), "ÉZ");
  assert.equal(initials(""), "?");
  assert.equal(initials("😀 Smile"), "😀S");
});

test("a person keeps the same hue", () => {
  assert.equal(hueOf("alice"), hueOf("alice"));
  assert.ok(hueOf("alice") >= 0 && hueOf("alice") < 360);
  assert.notEqual(hueOf("alice"), hueOf("bob"));
});
