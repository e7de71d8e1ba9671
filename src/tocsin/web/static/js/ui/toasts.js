/**
 * Toasts: brief cards for new notifications. Each stays `duration` ms (6 s by default),
 * paused while the pointer or focus is on it and while the tab is hidden; at most `max` (3)
 * show at once, the oldest leaving early for a new one. The container is a polite live region.
 */

import { avatarBlock, stateClasses, textBlock } from "./card.js";
import { h } from "./dom.js";
import { icon } from "./icons.js";

export const TOAST_DURATION = 6000;
export const TOAST_MAX = 3;
const LEAVE_MS = 180;

export class Toasts {
  /**
   * @param {object} options
   * @param {HTMLElement} options.region the live region toasts go in
   * @param {() => import("./card.js").CardContext} options.context translator, locale, now
   * @param {(item: any) => void} options.onActivate a toast was clicked (or Enter)
   * @param {number} [options.duration]
   * @param {number} [options.max]
   */
  constructor({ region, context, onActivate, duration = TOAST_DURATION, max = TOAST_MAX }) {
    this.region = region;
    this.duration = duration;
    this.max = max;
    this._context = context;
    this._onActivate = onActivate;
    /** @type {Map<string, Toast>} notification id -> toast */
    this._toasts = new Map();
    this._hidden = false;
  }

  /** How many toasts are showing. */
  get size() {
    return this._toasts.size;
  }

  /** Ids of the notifications that have a toast. */
  ids() {
    return [...this._toasts.keys()];
  }

  /**
   * Show a toast for a notification (once per id).
   * @param {any} item
   */
  show(item) {
    if (this._toasts.has(item.id)) return;
    while (this._toasts.size >= this.max) this.remove(this._toasts.keys().next().value);
    const toast = new Toast(item, this);
    this._toasts.set(item.id, toast);
    this.region.append(toast.node);
    if (!this._hidden) toast.resume();
  }

  /**
   * Take a notification's toast away (it was read, dismissed, or timed out).
   * @param {string} id
   */
  remove(id) {
    const toast = this._toasts.get(id);
    if (!toast) return;
    this._toasts.delete(id);
    toast.leave();
  }

  /** Remove every toast. */
  clear() {
    for (const id of [...this._toasts.keys()]) this.remove(id);
  }

  /**
   * Pause every toast while the tab is hidden (a toast nobody saw should not time out).
   * @param {boolean} hidden
   */
  setHidden(hidden) {
    this._hidden = hidden;
    for (const toast of this._toasts.values()) {
      if (hidden) toast.pause();
      else toast.resume();
    }
  }

  _activate(item) {
    this.remove(item.id);
    this._onActivate(item);
  }
}

class Toast {
  /**
   * @param {any} item
   * @param {Toasts} owner
   */
  constructor(item, owner) {
    this.owner = owner;
    this.remaining = owner.duration;
    this.timer = null;
    this.startedAt = 0;
    this.hovered = false;
    this.focused = false;
    const entry = { key: item.id, items: [item], lead: item, unread: true, priority: item.priority };
    const { content, titleId, bodyId } = textBlock(entry, owner._context());
    const close = h("button", { type: "button", class: "close", "aria-label": owner._context().t("toast.close") }, icon("x"));
    const progress = h("span", { class: "progress", "aria-hidden": "true" });
    this.node = h(
      "div",
      {
        class: "toast " + stateClasses(entry),
        role: "group",
        tabindex: "0",
        "aria-labelledby": titleId,
        "aria-describedby": bodyId,
        "data-id": item.id,
      },
      avatarBlock(entry),
      content,
      close,
      progress,
    );
    this.node.style.setProperty("--duration", `${owner.duration}ms`);
    close.addEventListener("click", (event) => {
      event.stopPropagation();
      owner.remove(item.id);
    });
    this.node.addEventListener("click", () => owner._activate(item));
    this.node.addEventListener("keydown", (event) => {
      if (event.target !== this.node) return;
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        owner._activate(item);
      } else if (event.key === "Escape") {
        owner.remove(item.id);
      }
    });
    this.node.addEventListener("pointerenter", () => this.hold("hovered", true));
    this.node.addEventListener("pointerleave", () => this.hold("hovered", false));
    this.node.addEventListener("focusin", () => this.hold("focused", true));
    this.node.addEventListener("focusout", (event) => {
      if (!this.node.contains(/** @type {Node} */ (event.relatedTarget))) this.hold("focused", false);
    });
  }

  hold(reason, on) {
    this[reason] = on;
    if (this.hovered || this.focused) this.pause();
    else if (!this.owner._hidden) this.resume();
  }

  pause() {
    if (this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.remaining = Math.max(0, this.remaining - (Date.now() - this.startedAt));
    this.node.classList.add("paused");
  }

  resume() {
    if (this.timer !== null || this.hovered || this.focused) return;
    this.node.classList.remove("paused");
    this.startedAt = Date.now();
    this.timer = setTimeout(() => this.owner.remove(this.node.dataset.id), this.remaining);
  }

  leave() {
    clearTimeout(this.timer);
    this.timer = null;
    this.node.classList.add("leaving");
    const done = () => this.node.remove();
    this.node.addEventListener("animationend", (event) => {
      if (event.target === this.node) done();
    });
    setTimeout(done, LEAVE_MS + 50); // no animation (reduced motion) or a hidden tab
  }
}
