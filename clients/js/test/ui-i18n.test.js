// Picking a language and looking strings up.
import assert from "node:assert/strict";
import test from "node:test";

import { MESSAGES, pickLanguage, pickLocale, translator } from "../../../src/tocsin/web/static/js/ui/i18n.js";

test("the locale attribute wins, then the browser's languages, then English", () => {
  assert.equal(pickLanguage("fr", ["en-US"]), "fr");
  assert.equal(pickLanguage("fr-CA", []), "fr");
  assert.equal(pickLanguage("FR_be", []), "fr");
  assert.equal(pickLanguage(null, ["de-DE", "fr-FR"]), "fr");
  assert.equal(pickLanguage("xx", ["yy"]), "en");
  assert.equal(pickLanguage(undefined, []), "en");
});

test("the Intl locale keeps a valid region", () => {
  assert.equal(pickLocale("fr-CA", []), "fr-CA");
  assert.equal(pickLocale(null, ["fr-BE"]), "fr-BE");
  assert.equal(pickLocale("de", ["en-GB"]), "en-GB");
  assert.equal(pickLocale("en-!!", []), "en");
});

test("lookups fill placeholders and choose plural forms", () => {
  const en = translator("en");
  assert.equal(en("panel.markAllRead"), "Mark all as read");
  assert.equal(en("group.more", { first: "Ana", count: 1 }), "Ana and 1 other");
  assert.equal(en("group.more", { first: "Ana", count: 4 }), "Ana and 4 others");
  const fr = translator("fr");
  assert.equal(fr("panel.markAllRead"), "Tout marquer comme lu");
  assert.equal(fr("bell.unread", { count: 1 }), "Notifications, 1 non lue");
  assert.equal(fr("bell.unread", { count: 3 }), "Notifications, 3 non lues");
});

test("an unknown key reads as the key itself (a visible bug, not a crash)", () => {
  assert.equal(translator("fr")("no.such.key"), "no.such.key");
  assert.equal(translator("en")("no.such.key", { count: 2 }), "no.such.key");
});

test("the translator tells its locale, for Intl formats", () => {
  assert.equal(translator("fr-CA").locale, "fr-CA");
});

test("placeholders are filled with text as given, never interpreted", () => {
  const en = translator("en");
  assert.equal(en("group.two", { first: "<b>x</b>", second: "{count}" }), "<b>x</b> and {count}");
});

test("every language has every English key, with the same placeholders", () => {
  const placeholders = (value) => JSON.stringify(value).match(/\{\w+\}/g)?.sort() ?? [];
  for (const [language, table] of Object.entries(MESSAGES)) {
    for (const [key, value] of Object.entries(MESSAGES.en)) {
      assert.ok(Object.hasOwn(table, key), `${language} lacks ${key}`);
      assert.deepEqual([...new Set(placeholders(table[key]))], [...new Set(placeholders(value))], `${language} ${key}`);
    }
  }
});
