/**
 * The notification center's own words, in English (the default) and French. Add a language
 * by adding a table with the same keys; a key missing from a table falls back to English.
 * A value is a string with `{name}` placeholders, or plural forms keyed by
 * `Intl.PluralRules` categories (`one`, `other`, ...) chosen by the `count` parameter.
 * Placeholders are filled with plain text; the result is always put in the DOM as text.
 */

export const MESSAGES = Object.freeze({
  en: {
    "bell.label": "Notifications",
    "bell.unread": { one: "Notifications, {count} unread", other: "Notifications, {count} unread" },
    "panel.title": "Notifications",
    "panel.markAllRead": "Mark all as read",
    "panel.clearAll": "Clear all",
    "panel.enableDesktop": "Enable desktop notifications",
    "panel.empty.title": "You're all caught up",
    "panel.empty.body": "New notifications will show up here.",
    "panel.loading": "Loading…",
    "panel.loadFailed": "Notifications could not be loaded.",
    "panel.actionFailed": "That did not work. Try again.",
    "panel.retry": "Retry",
    "state.connecting": "Connecting…",
    "state.disconnected": "Offline",
    "card.dismiss": "Dismiss",
    "card.unread": "Unread",
    "card.source.system": "System Alert",
    "priority.critical": "Critical",
    "priority.high": "Important",
    "group.two": "{first} and {second}",
    "group.more": { one: "{first} and {count} other", other: "{first} and {count} others" },
    "group.count": { one: "{count} notification", other: "{count} notifications" },
    "toast.region": "New notifications",
    "toast.close": "Close",
    "modal.label": "Critical alert",
    "modal.acknowledge": "Acknowledge",
    "modal.open": "Open",
    "modal.waiting": { one: "{count} more alert waiting", other: "{count} more alerts waiting" },
  },
  fr: {
    "bell.label": "Notifications",
    "bell.unread": { one: "Notifications, {count} non lue", other: "Notifications, {count} non lues" },
    "panel.title": "Notifications",
    "panel.markAllRead": "Tout marquer comme lu",
    "panel.clearAll": "Tout effacer",
    "panel.enableDesktop": "Activer les notifications du bureau",
    "panel.empty.title": "Vous êtes à jour",
    "panel.empty.body": "Les nouvelles notifications apparaîtront ici.",
    "panel.loading": "Chargement…",
    "panel.loadFailed": "Impossible de charger les notifications.",
    "panel.actionFailed": "Cela n'a pas fonctionné. Réessayez.",
    "panel.retry": "Réessayer",
    "state.connecting": "Connexion…",
    "state.disconnected": "Hors ligne",
    "card.dismiss": "Ignorer",
    "card.unread": "Non lue",
    "card.source.system": "Alerte système",
    "priority.critical": "Critique",
    "priority.high": "Important",
    "group.two": "{first} et {second}",
    "group.more": { one: "{first} et {count} autre", other: "{first} et {count} autres" },
    "group.count": { one: "{count} notification", other: "{count} notifications" },
    "toast.region": "Nouvelles notifications",
    "toast.close": "Fermer",
    "modal.label": "Alerte critique",
    "modal.acknowledge": "J'ai compris",
    "modal.open": "Ouvrir",
    "modal.waiting": { one: "{count} autre alerte en attente", other: "{count} autres alertes en attente" },
  },
});

export const DEFAULT_LOCALE = "en";

/**
 * The best supported language for a requested locale, then the browser's languages.
 * "fr-CA" -> "fr"; unknown -> "en".
 * @param {string | null | undefined} requested the `locale` attribute
 * @param {readonly string[]} [preferred] `navigator.languages`
 * @returns {string} a key of MESSAGES
 */
export function pickLanguage(requested, preferred = browserLanguages()) {
  for (const candidate of [requested, ...preferred]) {
    if (typeof candidate !== "string" || candidate === "") continue;
    const lower = candidate.toLowerCase();
    if (Object.hasOwn(MESSAGES, lower)) return lower;
    const base = lower.split(/[-_]/)[0];
    if (Object.hasOwn(MESSAGES, base)) return base;
  }
  return DEFAULT_LOCALE;
}

/**
 * The locale for Intl formatting (dates, plurals): the requested tag when it is valid and in
 * the chosen language ("fr-CA" keeps its region), else the language itself.
 * @param {string | null | undefined} requested
 * @param {readonly string[]} [preferred]
 */
export function pickLocale(requested, preferred = browserLanguages()) {
  const language = pickLanguage(requested, preferred);
  for (const candidate of [requested, ...preferred]) {
    if (typeof candidate !== "string" || candidate === "") continue;
    if (candidate.toLowerCase().split(/[-_]/)[0] !== language) continue;
    try {
      return Intl.getCanonicalLocales(candidate.replace("_", "-"))[0];
    } catch {
      break; // not a valid BCP 47 tag
    }
  }
  return language;
}

/**
 * A lookup function for `locale`: `t("group.more", {first: "Ana", count: 4})`; its `locale`
 * property tells the locale (for Intl formats).
 * @param {string} locale
 * @returns {((key: string, params?: Record<string, unknown>) => string) & {locale: string}}
 */
export function translator(locale) {
  const language = pickLanguage(locale, []);
  const table = MESSAGES[language];
  const plurals = new Intl.PluralRules(locale);
  const t = (key, params = {}) => {
    const entry = Object.hasOwn(table, key) ? table[key] : MESSAGES[DEFAULT_LOCALE][key];
    if (entry === undefined) return key;
    const text = typeof entry === "string" ? entry : pluralForm(entry, plurals, params.count);
    return fill(text, params);
  };
  t.locale = locale;
  return t;
}

function pluralForm(forms, plurals, count) {
  const category = plurals.select(Number(count) || 0);
  return forms[category] ?? forms.other;
}

function fill(text, params) {
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.hasOwn(params, name) ? String(params[name]) : whole,
  );
}

function browserLanguages() {
  const nav = globalThis.navigator;
  if (!nav) return [];
  if (Array.isArray(nav.languages) && nav.languages.length) return nav.languages;
  return nav.language ? [nav.language] : [];
}
