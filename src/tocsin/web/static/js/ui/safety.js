/**
 * Which URLs the notification center may follow or load. Notification fields are data from
 * the server (and, behind it, from any backend that publishes): a URL is used only when it is
 * an absolute http(s) URL or a same-origin path ("/inbox/1", never "//host" nor "/\host").
 * Anything else (javascript:, data:, vbscript:, relative "x", control characters) is dropped.
 * The server applies the same rule when it accepts a notification; this is the second lock.
 */

/** C0 controls, DEL, and characters browsers strip or ignore inside URLs. */
const CONTROL = /[\u0000-\u001f\u007f]/;
const ABSOLUTE = /^https?:\/\//i;

/**
 * The absolute URL to follow for `value`, or null when it must not be used.
 * @param {unknown} value a notification's `url` or an actor's `avatar`
 * @param {string} [base] the page URL (defaults to `location.href`)
 * @returns {string | null}
 */
export function safeUrl(value, base = globalThis.location?.href) {
  if (typeof value !== "string" || value === "" || value.length > 4096) return null;
  if (CONTROL.test(value) || value.includes("\\")) return null;
  if (value.startsWith("/")) {
    if (value.startsWith("//") || !base) return null;
    return sameOrigin(value, base);
  }
  if (!ABSOLUTE.test(value)) return null;
  let parsed;
  try {
    parsed = new URL(value);
  } catch {
    return null;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return null;
  if (parsed.username || parsed.password) return null; // "https://bank.example@evil.example"
  return parsed.href;
}

/**
 * Whether `href` (absolute) is on the page's origin: followed in place, not in a new tab.
 * @param {string} href
 * @param {string} [base]
 */
export function isSameOrigin(href, base = globalThis.location?.href) {
  if (!base) return false;
  try {
    return new URL(href).origin === new URL(base).origin;
  } catch {
    return false;
  }
}

function sameOrigin(path, base) {
  let parsed;
  let origin;
  try {
    parsed = new URL(path, base);
    origin = new URL(base).origin;
  } catch {
    return null;
  }
  if (parsed.origin !== origin) return null;
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return null;
  return parsed.href;
}
