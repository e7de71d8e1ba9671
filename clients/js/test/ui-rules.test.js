// Display rules per priority, merged over the defaults.
import assert from "node:assert/strict";
import test from "node:test";

import { DEFAULT_RULES, mergeRules, ruleFor } from "../../../src/tocsin/web/static/js/ui/rules.js";

test("defaults: low is quiet, normal and high toast, critical opens the modal", () => {
  assert.deepEqual(DEFAULT_RULES.low, { toast: false, modal: false, desktop: false });
  assert.equal(DEFAULT_RULES.normal.toast, true);
  assert.equal(DEFAULT_RULES.high.toast, true);
  assert.equal(DEFAULT_RULES.critical.modal, true);
  assert.equal(DEFAULT_RULES.critical.toast, false);
});

test("given rules change only what they name", () => {
  const rules = mergeRules({ low: { toast: true }, critical: { modal: false, toast: true } });
  assert.deepEqual(rules.low, { toast: true, modal: false, desktop: false });
  assert.deepEqual(rules.normal, DEFAULT_RULES.normal);
  assert.deepEqual(rules.critical, { toast: true, modal: false, desktop: true });
});

test("rules may come as a JSON attribute", () => {
  assert.equal(mergeRules('{"normal": {"toast": false}}').normal.toast, false);
  assert.equal(mergeRules("  "), DEFAULT_RULES);
  assert.equal(mergeRules(null), DEFAULT_RULES);
});

test("unknown priorities and keys are ignored; values become booleans", () => {
  const rules = mergeRules({ urgent: { toast: true }, high: { sound: true, toast: 0 } });
  assert.equal(Object.hasOwn(rules, "urgent"), false);
  assert.deepEqual(rules.high, { toast: false, modal: false, desktop: true });
});

test("bad rules are refused with a TypeError", () => {
  assert.throws(() => mergeRules("{not json"), TypeError);
  assert.throws(() => mergeRules("[1]"), TypeError);
  assert.throws(() => mergeRules(42), TypeError);
});

test("merged rules are frozen", () => {
  const rules = mergeRules({});
  assert.ok(Object.isFrozen(rules) && Object.isFrozen(rules.normal));
});

test("an unknown priority follows the normal rule", () => {
  assert.equal(ruleFor(DEFAULT_RULES, "bogus"), DEFAULT_RULES.normal);
  assert.equal(ruleFor(DEFAULT_RULES, "critical"), DEFAULT_RULES.critical);
});
