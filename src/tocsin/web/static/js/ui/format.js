/**
 * Text the notification center derives from numbers and dates: the badge, relative times,
 * initials and avatar colours. Pure functions (no DOM), tested with node:test.
 */

/** The largest count the badge spells out; above it shows "99+". */
export const BADGE_MAX = 99;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * Steps of relative time: below `below` ms, count in `unit` of `size` ms.
 * "now" under 45 s, minutes under 45 min, hours under 22 h, then days, weeks, months, years.
 */
const STEPS = [
  { below: 45 * SECOND, unit: "second", size: Infinity },
  { below: 45 * MINUTE, unit: "minute", size: MINUTE },
  { below: 22 * HOUR, unit: "hour", size: HOUR },
  { below: 6.5 * DAY, unit: "day", size: DAY },
  { below: 26 * DAY, unit: "week", size: 7 * DAY },
  { below: 320 * DAY, unit: "month", size: 30.44 * DAY },
  { below: Infinity, unit: "year", size: 365.25 * DAY },
];

/**
 * The badge text for an unread count: "" for none, "99+" above 99.
 * @param {unknown} count
 * @returns {string}
 */
export function badgeText(count) {
  const n = Number(count);
  if (!Number.isFinite(n) || n <= 0) return "";
  return n > BADGE_MAX ? `${BADGE_MAX}+` : String(Math.floor(n));
}

/**
 * "2 min. ago", "yesterday", "now" — in `locale`, for `date` seen at `now`.
 * A date in the future (clocks a little apart) reads as "now".
 * @param {string | number | Date} date
 * @param {number} now milliseconds since the epoch
 * @param {string} locale
 * @returns {string} "" when the date is unreadable
 */
export function relativeTime(date, now, locale) {
  const at = toMillis(date);
  if (at === null) return "";
  const elapsed = Math.max(0, now - at);
  const format = relativeFormat(locale);
  const step = STEPS.find((candidate) => elapsed < candidate.below);
  if (step.size === Infinity) return format.format(0, step.unit);
  return format.format(-Math.max(1, Math.round(elapsed / step.size)), step.unit);
}

/**
 * The full date and time, for a tooltip: "Nov 23, 2025, 5:19 AM".
 * @param {string | number | Date} date
 * @param {string} locale
 */
export function absoluteTime(date, locale) {
  const at = toMillis(date);
  if (at === null) return "";
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(at);
}

/**
 * Milliseconds since the epoch, or null.
 * @param {string | number | Date | null | undefined} date
 */
export function toMillis(date) {
  if (date === null || date === undefined || date === "") return null;
  const at = date instanceof Date ? date.getTime() : typeof date === "number" ? date : Date.parse(date);
  return Number.isFinite(at) ? at : null;
}

/**
 * Up to two initials for an avatar placeholder ("Ana Lima" -> "AL", "bob" -> "B").
 * @param {unknown} name
 */
export function initials(name) {
  const words = String(name ?? "")
    .trim()
    .split(/\s+/u)
    .filter(Boolean);
  const letters = words.slice(0, 2).map((word) => Array.from(word)[0].toUpperCase());
  return letters.join("") || "?";
}

/**
 * A stable hue (0-359) for an id, so a person's placeholder keeps its colour.
 * @param {unknown} id
 */
export function hueOf(id) {
  let hash = 0;
  for (const char of String(id ?? "")) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return hash % 360;
}

const formats = new Map();

function relativeFormat(locale) {
  let format = formats.get(locale);
  if (!format) {
    format = new Intl.RelativeTimeFormat(locale, { numeric: "auto", style: "short" });
    formats.set(locale, format);
  }
  return format;
}
