/**
 * The parts of a notification card (avatar, who, title, body, time, priority mark), shared by
 * the dropdown, the toasts and the critical modal. Every piece of notification text goes in
 * as text; an avatar is loaded only from a safe URL (see safety.js).
 */

import { h } from "./dom.js";
import { absoluteTime, hueOf, initials, relativeTime } from "./format.js";
import { actorsOf, displayName, headline } from "./group.js";
import { icon, iconForType } from "./icons.js";
import { safeUrl } from "./safety.js";

let nextId = 0;

/** An id unique in the page, for aria-labelledby links inside a shadow root. */
export function uid(prefix) {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/**
 * @typedef {object} CardContext
 * @property {(key: string, params?: object) => string} t
 * @property {string} locale
 * @property {number} now
 */

/**
 * Avatar(s) of an entry with its type icon: up to two stacked actor avatars, or the type icon
 * on a neutral disc for system notifications.
 * @param {{items: any[], lead: any}} entry
 */
export function avatarBlock(entry) {
  const actors = actorsOf(entry.items).slice(0, 2);
  const type = iconForType(entry.lead.type);
  const wrap = h("span", { class: "avatars" + (actors.length > 1 ? " stacked" : ""), "aria-hidden": "true" });
  if (actors.length === 0) {
    wrap.append(h("span", { class: "avatar system type-" + type }, icon(type)));
    return wrap;
  }
  for (const actor of actors.reverse()) wrap.append(avatar(actor));
  wrap.append(h("span", { class: "type-badge type-" + type }, icon(type)));
  return wrap;
}

/**
 * One round avatar: the actor's picture, or their initials on a colour of their own (also
 * when the picture fails to load).
 * @param {{id: string, name?: string | null, avatar?: string | null}} actor
 */
export function avatar(actor) {
  const name = displayName(actor);
  const placeholder = () => {
    const node = h("span", { class: "avatar initials" }, initials(name));
    node.style.setProperty("--hue", String(hueOf(actor.id)));
    return node;
  };
  const src = safeUrl(actor.avatar);
  if (!src) return placeholder();
  const img = h("img", {
    class: "avatar",
    src,
    alt: "",
    loading: "lazy",
    decoding: "async",
    referrerpolicy: "no-referrer",
    draggable: "false",
  });
  img.addEventListener("error", () => img.replaceWith(placeholder()), { once: true });
  return img;
}

/**
 * A `<time>` showing a relative time, refreshed by `refreshTimes`.
 * @param {string} iso
 * @param {CardContext} ctx
 */
export function timeElement(iso, ctx) {
  return h(
    "time",
    { class: "time", datetime: iso, title: absoluteTime(iso, ctx.locale) },
    relativeTime(iso, ctx.now, ctx.locale),
  );
}

/**
 * Bring every relative time under `root` up to date.
 * @param {ParentNode} root
 * @param {string} locale
 * @param {number} now
 */
export function refreshTimes(root, locale, now) {
  for (const node of root.querySelectorAll("time.time[datetime]")) {
    const text = relativeTime(node.getAttribute("datetime"), now, locale);
    if (node.textContent !== text) node.textContent = text;
  }
}

/**
 * The text column of a card: who and when, the title (with a "!" mark for high and critical
 * priorities) and the body; the title and body elements get ids for aria links.
 * @param {{items: any[], lead: any, priority: string}} entry
 * @param {CardContext} ctx
 * @returns {{content: HTMLElement, titleId: string, bodyId: string, text: ReturnType<typeof headline>}}
 */
export function textBlock(entry, ctx) {
  const text = headline(entry, ctx.t);
  const titleId = uid("title");
  const bodyId = uid("body");
  const urgent = entry.priority === "critical" || entry.priority === "high";
  const meta = h(
    "span",
    { class: "meta" },
    h("span", { class: "who" + (text.system ? " system-source" : "") }, text.who),
    // "Ana and 4 others" already counts people; the chip counts items of one or no actor.
    text.count > 1 && text.actors < 2
      ? h("span", { class: "count", title: ctx.t("group.count", { count: text.count }) }, String(text.count))
      : null,
    h("span", { class: "sep", "aria-hidden": "true" }, "·"),
    timeElement(entry.lead.created_at, ctx),
  );
  const title = h(
    "span",
    { class: "title", id: titleId },
    urgent
      ? h("span", { class: "prio", role: "img", "aria-label": ctx.t("priority." + entry.priority) }, "!")
      : null,
    h("span", { class: "title-text" }, text.title),
  );
  const body = h("span", { class: "body", id: bodyId }, text.body);
  if (!text.body) body.hidden = true;
  return { content: h("span", { class: "content" }, meta, title, body), titleId, bodyId, text };
}

/**
 * The CSS classes that carry an entry's priority and state.
 * @param {{priority: string, unread: boolean}} entry
 */
export function stateClasses(entry) {
  return `prio-${entry.priority}` + (entry.unread ? " unread" : " read");
}
