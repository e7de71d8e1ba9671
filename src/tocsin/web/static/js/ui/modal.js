/**
 * The critical-notification modal: an `alertdialog` (a native `<dialog>` shown modally, so
 * the page behind is inert) that stays until the user presses "Acknowledge", which marks the
 * notification read. Escape does not close it; Tab and Shift+Tab cycle inside it; focus goes
 * back where it was once the last alert is acknowledged. Several alerts queue, oldest first.
 * An alert read elsewhere (another tab or device) leaves the queue at once.
 */

import { avatar, timeElement, uid } from "./card.js";
import { deepActiveElement, h, tabbables } from "./dom.js";
import { actorsOf, headline } from "./group.js";
import { icon } from "./icons.js";
import { safeUrl } from "./safety.js";

export class CriticalModal {
  /**
   * @param {object} options
   * @param {ShadowRoot} options.root where the dialog lives
   * @param {() => import("./card.js").CardContext} options.context
   * @param {(item: any) => Promise<unknown>} options.onAcknowledge marks the item read
   * @param {(item: any) => void} options.onOpen follows the item's URL
   */
  constructor({ root, context, onAcknowledge, onOpen }) {
    this._context = context;
    this._onAcknowledge = onAcknowledge;
    this._onOpen = onOpen;
    /** @type {any[]} */
    this._queue = [];
    this._restore = null;
    this._titleId = uid("modal-title");
    this._bodyId = uid("modal-body");
    this.dialog = h("dialog", {
      class: "modal",
      role: "alertdialog",
      "aria-modal": "true",
      "aria-live": "assertive",
      "aria-labelledby": this._titleId,
      "aria-describedby": this._bodyId,
    });
    this.dialog.addEventListener("keydown", (event) => this._keydown(event));
    this.dialog.addEventListener("cancel", (event) => event.preventDefault());
    this.dialog.addEventListener("close", () => {
      if (this.current) this._show(); // closed by the browser, not acknowledged: reopen
    });
    root.append(this.dialog);
  }

  /** The alert on screen, or null. */
  get current() {
    return this._queue[0] ?? null;
  }

  /** How many alerts wait (the one on screen included). */
  get size() {
    return this._queue.length;
  }

  /**
   * Queue an alert (once per id).
   * @param {any} item
   */
  enqueue(item) {
    if (this._queue.some((queued) => queued.id === item.id)) return;
    this._queue.push(item);
    if (this._queue.length === 1) {
      this._restore = deepActiveElement();
      this._render();
      this._show();
    } else {
      this._render(); // the "more waiting" line
    }
  }

  /**
   * Take alerts out of the queue (read or archived elsewhere).
   * @param {(item: any) => boolean} predicate
   */
  drop(predicate) {
    const head = this.current;
    this._queue = this._queue.filter((item) => !predicate(item));
    if (this.current === head) {
      if (head) this._render();
      return;
    }
    this._advance();
  }

  _advance() {
    if (this.current) {
      this._render();
      this._focusDefault();
      return;
    }
    if (this.dialog.open) this.dialog.close();
    const restore = this._restore;
    this._restore = null;
    if (restore && restore.isConnected && typeof restore.focus === "function") restore.focus();
  }

  _show() {
    if (!this.dialog.isConnected) return;
    if (!this.dialog.open) {
      try {
        this.dialog.showModal();
      } catch {
        this.dialog.show(); // not connected to a document, or already shown non-modally
      }
    }
    this._focusDefault();
  }

  _focusDefault() {
    this.dialog.querySelector(".acknowledge")?.focus();
  }

  _render() {
    const item = this.current;
    if (!item) return;
    const ctx = this._context();
    const { t } = ctx;
    const entry = { items: [item], lead: item };
    const text = headline(entry, t);
    const actor = actorsOf([item])[0];
    const url = safeUrl(item.url);
    const waiting = this._queue.length - 1;
    const acknowledge = h("button", { type: "button", class: "btn primary acknowledge" }, t("modal.acknowledge"));
    acknowledge.addEventListener("click", () => this._acknowledge(item, acknowledge));
    let open = null;
    if (url) {
      open = h("button", { type: "button", class: "btn open" }, t("modal.open"));
      open.addEventListener("click", () => {
        this._remove(item);
        this._onOpen(item);
      });
    }
    const body = h("p", { class: "modal-body", id: this._bodyId }, text.body);
    if (!text.body) body.classList.add("sr-only");
    this.dialog.replaceChildren(
      h("div", { class: "modal-band", "aria-hidden": "true" }),
      h(
        "div",
        { class: "modal-inner", "data-id": item.id },
        h(
          "div",
          { class: "modal-head" },
          h("span", { class: "modal-icon", "aria-hidden": "true" }, icon("alert")),
          h(
            "div",
            {},
            h("p", { class: "modal-kicker" }, t("modal.label")),
            h("h2", { class: "modal-title", id: this._titleId }, text.title),
          ),
        ),
        body,
        h(
          "div",
          { class: "modal-meta" },
          actor ? avatar(actor) : null,
          h("span", { class: "who" }, text.who),
          h("span", { "aria-hidden": "true" }, "·"),
          timeElement(item.created_at, ctx),
        ),
        h(
          "div",
          { class: "modal-actions" },
          waiting > 0 ? h("span", { class: "waiting" }, t("modal.waiting", { count: waiting })) : null,
          open,
          acknowledge,
        ),
      ),
    );
  }

  async _acknowledge(item, button) {
    button.disabled = true;
    try {
      await this._onAcknowledge(item);
    } catch {
      button.disabled = false;
      button.focus();
      return; // still unread: the alert stays
    }
    this._remove(item);
  }

  _remove(item) {
    const wasHead = this.current === item;
    this._queue = this._queue.filter((queued) => queued !== item);
    if (wasHead) this._advance();
  }

  _keydown(event) {
    if (event.key === "Escape") {
      event.preventDefault(); // an alert needs an explicit acknowledgement
      return;
    }
    if (event.key !== "Tab") return;
    const focusable = tabbables(this.dialog);
    if (focusable.length === 0) {
      event.preventDefault();
      return;
    }
    const active = deepActiveElement();
    const index = focusable.indexOf(active);
    const next = event.shiftKey
      ? focusable[index <= 0 ? focusable.length - 1 : index - 1]
      : focusable[index === -1 || index === focusable.length - 1 ? 0 : index + 1];
    event.preventDefault();
    next.focus();
  }
}
