/**
 * The dropdown: a non-modal dialog holding the notification cards as an ARIA feed (articles
 * in a scrolling list that grows as older items load). Cards are reused between renders, so
 * focus and scroll position survive live updates.
 *
 * Keyboard: ArrowDown/ArrowUp (and Home/End) move between cards, Enter or Space opens one,
 * Delete dismisses it, Escape closes the dropdown (the owner puts focus back on the bell).
 */

import { avatarBlock, stateClasses, textBlock, uid } from "./card.js";
import { h } from "./dom.js";
import { icon } from "./icons.js";

export class Panel {
  /**
   * @param {object} options
   * @param {() => import("./card.js").CardContext} options.context
   * @param {object} options.on handlers
   * @param {(entry: any) => void} options.on.activate
   * @param {(entry: any) => void} options.on.dismiss
   * @param {() => void} options.on.markAllRead
   * @param {() => void} options.on.clearAll
   * @param {() => void} options.on.loadMore
   * @param {() => void} options.on.retry
   * @param {() => void} options.on.enableDesktop
   * @param {() => void} options.on.close
   */
  constructor({ context, on }) {
    this._context = context;
    this._on = on;
    /** @type {Map<string, {node: HTMLElement, signature: string, entry: any}>} */
    this._cards = new Map();
    this._activeKey = null;
    this._build();
  }

  /** Whether the dropdown shows. */
  get isOpen() {
    return !this.node.hidden;
  }

  _build() {
    const { t } = this._context();
    const titleId = uid("panel-title");
    this.title = h("h2", { class: "panel-title", id: titleId });
    this.markAll = h("button", { type: "button", class: "link-btn mark-all" }, icon("checks"), h("span", {}));
    this.status = h("div", { class: "status", role: "status", hidden: true });
    this.error = h("div", { class: "error", role: "alert", hidden: true });
    this.feed = h("div", { class: "feed", role: "feed", "aria-labelledby": titleId, "aria-busy": "false" });
    this.sentinel = h("div", { class: "sentinel", "aria-hidden": "true" });
    this.more = h("div", { class: "more", hidden: true }, h("span", { class: "spinner", "aria-hidden": "true" }), h("span", {}));
    this.empty = h(
      "div",
      { class: "empty", hidden: true },
      h("span", { class: "empty-icon", "aria-hidden": "true" }, icon("bell")),
      h("span", { class: "empty-title" }),
      h("span", { class: "empty-body" }),
    );
    this.failed = h("div", { class: "empty failed", hidden: true }, h("span", { class: "empty-title" }), h("button", { type: "button", class: "link-btn retry" }));
    this.scroller = h("div", { class: "scroller" }, this.feed, this.sentinel, this.more, this.empty, this.failed);
    this.desktop = h("button", { type: "button", class: "link-btn quiet enable-desktop", hidden: true }, icon("monitor"), h("span", {}));
    this.clearAll = h("button", { type: "button", class: "link-btn quiet danger clear-all" }, icon("trash"), h("span", {}));
    this.node = h(
      "div",
      { class: "panel", role: "dialog", "aria-labelledby": titleId, tabindex: "-1", hidden: true },
      h("div", { class: "panel-head" }, this.title, this.markAll),
      this.status,
      this.error,
      this.scroller,
      h("div", { class: "panel-foot" }, this.desktop, h("span", { class: "spacer" }), this.clearAll),
    );
    this.relabel(t);

    this.markAll.addEventListener("click", () => this._on.markAllRead());
    this.clearAll.addEventListener("click", () => this._on.clearAll());
    this.desktop.addEventListener("click", () => this._on.enableDesktop());
    this.failed.querySelector(".retry").addEventListener("click", () => this._on.retry());
    this.feed.addEventListener("click", (event) => this._click(event));
    this.feed.addEventListener("focusin", (event) => this._focusin(event));
    this.node.addEventListener("keydown", (event) => this._keydown(event));
    if (typeof IntersectionObserver === "function") {
      this._observer = new IntersectionObserver(
        (records) => {
          if (records.some((record) => record.isIntersecting)) this._on.loadMore();
        },
        { root: this.scroller, rootMargin: "0px 0px 160px 0px" },
      );
      this._observer.observe(this.sentinel);
    }
  }

  /**
   * Put the UI strings in (again, after a locale change).
   * @param {(key: string, params?: object) => string} t
   */
  relabel(t) {
    this.title.textContent = t("panel.title");
    this.markAll.lastChild.textContent = t("panel.markAllRead");
    this.more.lastChild.textContent = t("panel.loading");
    this.empty.querySelector(".empty-title").textContent = t("panel.empty.title");
    this.empty.querySelector(".empty-body").textContent = t("panel.empty.body");
    this.failed.querySelector(".empty-title").textContent = t("panel.loadFailed");
    this.failed.querySelector(".retry").textContent = t("panel.retry");
    this.desktop.lastChild.textContent = t("panel.enableDesktop");
    this.clearAll.lastChild.textContent = t("panel.clearAll");
    for (const card of this._cards.values()) card.signature = ""; // rebuilt on next render
  }

  /**
   * Show the cards and the surrounding state.
   * @param {any[]} entries grouped entries, newest first
   * @param {object} view
   * @param {boolean} view.loaded a first page arrived
   * @param {boolean} view.loading a page is on its way
   * @param {boolean} view.hasMore older items exist
   * @param {boolean} view.failed the first page could not be loaded
   * @param {string} view.permission desktop notification permission
   * @param {number} view.unread
   */
  render(entries, view) {
    const ctx = this._context();
    const focusedKey = this._focusedKey();
    const focusedIndex = focusedKey ? [...this.feed.children].indexOf(this._cards.get(focusedKey)?.node) : -1;
    const keep = new Set();
    const nodes = entries.map((entry, index) => {
      keep.add(entry.key);
      const signature = signatureOf(entry);
      let card = this._cards.get(entry.key);
      if (!card || card.signature !== signature) {
        const node = this._card(entry, ctx);
        card?.node.remove();
        card = { node, signature, entry };
        this._cards.set(entry.key, card);
      }
      card.entry = entry;
      card.node.setAttribute("aria-posinset", String(index + 1));
      card.node.setAttribute("aria-setsize", view.hasMore ? "-1" : String(entries.length));
      return card.node;
    });
    for (const [key, card] of this._cards) {
      if (!keep.has(key)) {
        card.node.remove();
        this._cards.delete(key);
      }
    }
    nodes.forEach((node, index) => {
      if (this.feed.children[index] !== node) this.feed.insertBefore(node, this.feed.children[index] ?? null);
    });
    this._rove(keep.has(this._activeKey) ? this._activeKey : entries[0]?.key ?? null);
    if (focusedKey && this._focusedKey() !== focusedKey) {
      // The focused card was rebuilt or removed (read, dismissed): focus it again, or the
      // card that took its place.
      const target = this._cards.get(focusedKey)?.node ?? nodes[Math.min(focusedIndex, nodes.length - 1)];
      if (target) target.focus({ preventScroll: true });
      else if (this.isOpen) this.focusCard();
    }

    this.feed.setAttribute("aria-busy", String(view.loading));
    this.more.hidden = !view.loading;
    this.empty.hidden = !(view.loaded && entries.length === 0 && !view.loading);
    this.failed.hidden = !(view.failed && !view.loaded);
    this.markAll.disabled = view.unread === 0 && !entries.some((entry) => entry.unread);
    this.clearAll.disabled = entries.length === 0;
    this.desktop.hidden = view.permission !== "default";
  }

  /**
   * The connection line ("Connecting…", "Offline"), hidden when connected.
   * @param {string | null} text
   */
  setStatus(text) {
    this.status.hidden = !text;
    this.status.textContent = text ?? "";
  }

  /**
   * An error line for a failed action (cleared by the next render of the owner).
   * @param {string | null} text
   */
  setError(text) {
    this.error.hidden = !text;
    this.error.textContent = text ?? "";
  }

  /** Whether the sentinel (end of the list) is within reach: load more then. */
  nearEnd() {
    if (this.node.hidden) return false;
    const box = this.scroller.getBoundingClientRect();
    const end = this.sentinel.getBoundingClientRect();
    return end.top <= box.bottom + 160;
  }

  /** Focus the current card (or the first), else the dropdown's first control. */
  focusCard() {
    const card = this._cards.get(this._activeKey);
    if (card) {
      card.node.focus();
      return;
    }
    const control = [this.markAll, this.desktop, this.clearAll].find((node) => !node.disabled && !node.hidden);
    (control ?? this.node).focus();
  }

  _card(entry, ctx) {
    const { t } = ctx;
    const { content, titleId, bodyId } = textBlock(entry, ctx);
    const dismiss = h("button", { type: "button", class: "dismiss", tabindex: "-1", "aria-label": t("card.dismiss") }, icon("x"));
    const dot = entry.unread
      ? h("span", { class: "dot", role: "img", "aria-label": t("card.unread") })
      : h("span", { class: "dot", "aria-hidden": "true" });
    return h(
      "article",
      {
        class: "card " + stateClasses(entry),
        tabindex: "-1",
        "aria-labelledby": titleId,
        "aria-describedby": bodyId,
        "data-key": entry.key,
        "data-ids": entry.items.map((item) => item.id).join(" "),
        "data-type": entry.lead.type,
      },
      avatarBlock(entry),
      content,
      h("span", { class: "side" }, dot, dismiss),
    );
  }

  _entryOf(node) {
    const card = node?.closest?.(".card");
    return card ? this._cards.get(card.dataset.key) : undefined;
  }

  _click(event) {
    const card = this._entryOf(event.target);
    if (!card) return;
    if (event.target.closest(".dismiss")) this._on.dismiss(card.entry);
    else this._on.activate(card.entry);
  }

  _focusin(event) {
    const card = this._entryOf(event.target);
    if (card) this._rove(card.node.dataset.key);
  }

  /** One card is reachable with Tab (tabindex 0), with its dismiss button; the rest by arrows. */
  _rove(key) {
    this._activeKey = key;
    for (const [cardKey, card] of this._cards) {
      const active = cardKey === key;
      card.node.tabIndex = active ? 0 : -1;
      card.node.querySelector(".dismiss").tabIndex = active ? 0 : -1;
    }
  }

  _focusedKey() {
    const active = this.node.getRootNode().activeElement;
    return active ? this._entryOf(active)?.node.dataset.key ?? null : null;
  }

  _keydown(event) {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      this._on.close();
      return;
    }
    const card = this._entryOf(event.target);
    if (!card) return;
    const nodes = [...this.feed.children];
    const index = nodes.indexOf(card.node);
    let next = null;
    switch (event.key) {
      case "ArrowDown":
        next = nodes[Math.min(index + 1, nodes.length - 1)];
        break;
      case "ArrowUp":
        next = nodes[Math.max(index - 1, 0)];
        break;
      case "Home":
        next = nodes[0];
        break;
      case "End":
        next = nodes[nodes.length - 1];
        break;
      case "Enter":
      case " ":
        if (event.target !== card.node) return; // the dismiss button handles its own keys
        event.preventDefault();
        this._on.activate(card.entry);
        return;
      case "Delete":
      case "Backspace":
        event.preventDefault();
        this._on.dismiss(card.entry);
        return;
      default:
        return;
    }
    event.preventDefault();
    if (next) {
      next.focus();
      next.scrollIntoView({ block: "nearest" });
    }
  }
}

function signatureOf(entry) {
  return JSON.stringify([
    entry.priority,
    entry.items.map((item) => [item.id, Boolean(item.read_at), item.title, item.body]),
  ]);
}
