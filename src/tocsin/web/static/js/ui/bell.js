/**
 * `<tocsin-bell>`: the notification center as a Web Component (shadow DOM, no dependencies).
 *
 *     <script type="module" src="/tocsin/ui/bell.js"></script>
 *     <tocsin-bell url="https://notify.example.com" locale="fr"></tocsin-bell>
 *     <script type="module">
 *       document.querySelector("tocsin-bell").token = async () => (await fetch("/jwt")).text();
 *     </script>
 *
 * Attributes: `url` (the Tocsin server), `locale` (else the browser's languages), `rules`
 * (JSON, see rules.js), `theme` ("light" or "dark"; else the system's), `toast-duration` (ms),
 * `share-tabs` ("false" gives each tab its own connection).
 * Properties: `token` (a JWT or an async function returning one) or `client` (an existing
 * Tocsin instance, which the element then neither creates nor disconnects), `rules`, `locale`,
 * `counts`, `open` and `loaded` (read-only); methods `show()`, `hide()`, `toggle()`.
 * Events (bubbling, composed): `tocsin-open` (cancelable: a card, toast, alert or system
 * notification was activated; cancel it to route the URL yourself), `tocsin-notification`,
 * `tocsin-counts`.
 *
 * Priorities follow the display rules: by default low only joins the list, normal and high
 * also show a toast, critical opens a modal that must be acknowledged; all but low raise a
 * system notification when the tab is hidden and permission was granted.
 */

import { Tocsin } from "../index.js";
import { refreshTimes, uid } from "./card.js";
import { DesktopNotifier } from "./desktop.js";
import { h } from "./dom.js";
import { badgeText, toMillis } from "./format.js";
import { pickLocale, translator } from "./i18n.js";
import { icon } from "./icons.js";
import { CriticalModal } from "./modal.js";
import { Panel } from "./panel.js";
import { DEFAULT_RULES, mergeRules, ruleFor } from "./rules.js";
import { isSameOrigin, safeUrl } from "./safety.js";
import { InboxStore } from "./store.js";
import { adoptStyles } from "./styles.js";
import { TOAST_DURATION, Toasts } from "./toasts.js";

export const TAG = "tocsin-bell";
/** How often relative times are refreshed. */
export const TICK_MS = 30_000;
/** How long a click waits for "mark read" before following a same-origin URL. */
const READ_BEFORE_LEAVING_MS = 1500;
/** Live items arriving while the dropdown is open are marked seen after this pause. */
const SEEN_DELAY_MS = 400;

export class TocsinBell extends HTMLElement {
  static observedAttributes = ["url", "locale", "rules", "toast-duration", "share-tabs"];

  constructor() {
    super();
    this._root = this.attachShadow({ mode: "open" });
    adoptStyles(this._root);
    /** @type {string | (() => string | Promise<string>) | null} */
    this._token = null;
    this._givenClient = null;
    /** @type {InboxStore | null} */
    this._store = null;
    this._owned = false;
    this._source = 0; // bumped when url, token or client change
    this._started = -1;
    this._offs = [];
    this._counts = { unread: 0, unseen: 0 };
    this._rulesGiven = null;
    this._rules = DEFAULT_RULES;
    this._locale = pickLocale(null);
    this._t = translator(this._locale);
    this._timer = null;
    this._seenTimer = null;
    this._onDocumentPointer = (event) => {
      if (this.open && !event.composedPath().includes(this)) this.hide({ restoreFocus: false });
    };
    this._onVisibility = () => this._toasts.setHidden(document.hidden);
    this._build();
  }

  // Public API.

  /** The JWT or an async function returning one (never an attribute: tokens stay out of the DOM). */
  get token() {
    return this._token;
  }

  set token(value) {
    if (value === this._token) return;
    this._token = value ?? null;
    this._changed();
  }

  /** The Tocsin client in use (given, or created from `url` and `token`). */
  get client() {
    return this._store?.client ?? this._givenClient;
  }

  set client(value) {
    if (value === this._givenClient) return;
    this._givenClient = value ?? null;
    this._changed();
  }

  get url() {
    return this.getAttribute("url");
  }

  set url(value) {
    if (value == null) this.removeAttribute("url");
    else this.setAttribute("url", String(value));
  }

  get locale() {
    return this._locale;
  }

  set locale(value) {
    if (value == null) this.removeAttribute("locale");
    else this.setAttribute("locale", String(value));
  }

  /** The display rules in force (merged over the defaults). */
  get rules() {
    return this._rules;
  }

  set rules(value) {
    this._rulesGiven = value ?? null;
    this._applyRules();
  }

  /** `{unread, unseen}` as the badge shows them. */
  get counts() {
    return { ...this._counts };
  }

  /** Whether the first page of the inbox arrived. */
  get loaded() {
    return Boolean(this._store?.getSnapshot().loaded);
  }

  /** Whether the dropdown is open. */
  get open() {
    return this._panel.isOpen;
  }

  /** Open the dropdown (marks what it shows as seen). */
  show({ focus = true } = {}) {
    if (this.open) return;
    this._panel.node.hidden = false;
    this._button.setAttribute("aria-expanded", "true");
    this._place();
    this._toasts.clear();
    const snapshot = this._store?.getSnapshot();
    if (snapshot && !snapshot.loaded && !snapshot.loading) this._store.refresh();
    this._render();
    this._markSeen();
    if (focus) this._panel.focusCard();
    this._loadMoreIfNearEnd();
  }

  /** Close the dropdown; focus returns to the bell unless `restoreFocus` is false. */
  hide({ restoreFocus = true } = {}) {
    if (!this.open) return;
    this._panel.node.hidden = true;
    this._button.setAttribute("aria-expanded", "false");
    this._panel.setError(null);
    if (restoreFocus) this._button.focus();
  }

  toggle() {
    if (this.open) this.hide();
    else this.show();
  }

  // Lifecycle.

  connectedCallback() {
    for (const property of ["token", "client", "rules", "locale", "url"]) this._upgrade(property);
    document.addEventListener("pointerdown", this._onDocumentPointer, true);
    document.addEventListener("visibilitychange", this._onVisibility);
    this._toasts.setHidden(document.hidden);
    this._showToastLayer();
    this._timer ??= setInterval(() => this._tick(), TICK_MS);
    this._sync();
  }

  disconnectedCallback() {
    document.removeEventListener("pointerdown", this._onDocumentPointer, true);
    document.removeEventListener("visibilitychange", this._onVisibility);
    clearInterval(this._timer);
    this._timer = null;
    // Moved in the DOM (disconnected then connected at once): keep the connection.
    queueMicrotask(() => {
      if (!this.isConnected) this._stop();
    });
  }

  attributeChangedCallback(name, before, after) {
    if (before === after) return;
    switch (name) {
      case "url":
      case "share-tabs":
        this._changed();
        break;
      case "locale":
        this._setLocale(after);
        break;
      case "rules":
        this._applyRules();
        break;
      case "toast-duration": {
        const ms = Number(after);
        this._toasts.duration = Number.isFinite(ms) && ms > 0 ? ms : TOAST_DURATION;
        break;
      }
      default:
        break;
    }
  }

  // Building.

  _build() {
    const context = () => ({ t: this._t, locale: this._locale, now: Date.now() });
    const panelId = uid("tocsin-panel");
    this._badge = h("span", { class: "badge", "aria-hidden": "true", hidden: true });
    this._button = h(
      "button",
      {
        type: "button",
        class: "bell",
        part: "button",
        "aria-haspopup": "dialog",
        "aria-expanded": "false",
        "aria-controls": panelId,
      },
      icon("bell"),
      this._badge,
    );
    this._button.addEventListener("click", () => this.toggle());
    this._button.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (this.open) this._panel.focusCard();
        else this.show();
      } else if (event.key === "Escape" && this.open) {
        this.hide();
      }
    });
    this._panel = new Panel({
      context,
      on: {
        activate: (entry) => this._activate(entry.items, entry.lead),
        dismiss: (entry) => this._act((actions) => actions.dismiss(entry.items.map((item) => item.id))),
        markAllRead: () => this._act((actions) => actions.markAllRead()),
        clearAll: () => this._act((actions) => actions.clearAll()),
        loadMore: () => this._loadMoreIfNearEnd(),
        retry: () => this._store?.refresh(),
        enableDesktop: () => this._enableDesktop(),
        close: () => this.hide(),
      },
    });
    this._panel.node.id = panelId;
    this._panel.node.setAttribute("part", "panel");
    this._panel.node.addEventListener("focusout", (event) => {
      const next = event.relatedTarget;
      if (this.open && next && !this._root.contains(next) && !this.contains(next)) this.hide({ restoreFocus: false });
    });
    this._region = h("section", { class: "toasts", part: "toasts", "aria-live": "polite", "aria-relevant": "additions" });
    this._toasts = new Toasts({ region: this._region, context, onActivate: (item) => this._activate([item], item) });
    this._root.append(h("div", { class: "wrap" }, this._button, this._panel.node, this._region));
    this._modal = new CriticalModal({
      root: this._root,
      context,
      onAcknowledge: (item) => this._store.client.markRead(item.id),
      onOpen: (item) => this._activate([item], item),
    });
    this._desktop = new DesktopNotifier({ onClick: (item) => this._activate([item], item) });
    this._relabel();
  }

  /** The toast region lives in the top layer (above any stacking context of the page). */
  _showToastLayer() {
    if (!("popover" in HTMLElement.prototype)) return;
    this._region.setAttribute("popover", "manual");
    try {
      if (!this._region.matches(":popover-open")) this._region.showPopover();
    } catch {
      this._region.removeAttribute("popover");
    }
  }

  _upgrade(property) {
    // A property set before the element was defined shadows the accessor: move it over.
    if (Object.hasOwn(this, property)) {
      const value = this[property];
      delete this[property];
      this[property] = value;
    }
  }

  // Client lifecycle.

  _changed() {
    this._source += 1;
    this._sync();
  }

  _sync() {
    if (!this.isConnected || this._started === this._source) return;
    this._stop();
    this._started = this._source;
    const given = this._givenClient;
    const url = this.getAttribute("url");
    if (!given && !(url && this._token)) return; // wait for what is missing
    let client = given;
    if (!client) {
      try {
        client = new Tocsin({ url, token: this._token, shareTabs: this.getAttribute("share-tabs") !== "false" });
      } catch (err) {
        this._panel.setError(this._t("panel.loadFailed"));
        this._report(err);
        return;
      }
    }
    const store = new InboxStore(client);
    this._store = store;
    this._owned = !given;
    this._offs = [
      store.subscribe(() => this._render()),
      store.onNew((item) => this._announce(item)),
      client.on("change", (change) => this._changeElsewhere(change)),
      client.on("error", (err) => this._report(err)),
    ];
    store.start();
    client.connect();
  }

  _stop() {
    for (const off of this._offs) off();
    this._offs = [];
    const store = this._store;
    this._store = null;
    this._started = -1;
    if (store) {
      store.stop();
      if (this._owned) store.client.disconnect();
    }
    this._owned = false;
    clearTimeout(this._seenTimer);
    this._toasts.clear();
    this._modal.drop(() => true);
    this._desktop.closeAll();
    this._render();
  }

  // What happens on news.

  /** A new notification: an event, then a toast, the modal or a system notification. */
  _announce(item) {
    this.dispatchEvent(new CustomEvent("tocsin-notification", { detail: { notification: item }, bubbles: true, composed: true }));
    const rule = ruleFor(this._rules, item.priority);
    const hidden = document.hidden;
    const desktop = hidden && rule.desktop && this._desktop.show(item, this._t);
    if (rule.modal) this._modal.enqueue(item);
    else if (rule.toast && !desktop && !this.open) this._toasts.show(item);
    if (this.open && !hidden) {
      clearTimeout(this._seenTimer);
      this._seenTimer = setTimeout(() => this._markSeen(), SEEN_DELAY_MS);
    }
  }

  /** Read or archived (here, in another tab, on another device): its toast, alert and system notification go. */
  _changeElsewhere(change) {
    if (change.action !== "read" && change.action !== "archived") return;
    const when = toMillis(change.at) ?? Infinity;
    const affected = (item) =>
      Array.isArray(change.ids) ? change.ids.includes(item.id) : (toMillis(item.created_at) ?? 0) <= when;
    this._modal.drop(affected);
    for (const id of this._toasts.ids()) {
      const item = this._store?.get(id);
      if (!item || affected(item)) this._toasts.remove(id);
    }
    this._desktop.closeWhere(affected);
  }

  _report(err) {
    // The client also reports errors on its own "error" event; this helps while debugging.
    globalThis.console?.warn?.("tocsin-bell:", err?.message ?? err);
  }

  // Actions.

  /** Follow a card's, toast's, alert's or system notification's URL after marking it read. */
  async _activate(items, lead) {
    const store = this._store;
    if (!store) return;
    const url = safeUrl(lead.url);
    const allowed = this.dispatchEvent(
      new CustomEvent("tocsin-open", {
        detail: { notification: lead, notifications: items, url },
        bubbles: true,
        composed: true,
        cancelable: true,
      }),
    );
    const external = url !== null && !isSameOrigin(url);
    if (allowed && external) globalThis.open?.(url, "_blank", "noopener,noreferrer");
    const reading = store.actions.markRead(items.filter((item) => !item.read_at).map((item) => item.id));
    if (allowed && url && !external) {
      await Promise.race([reading.catch(() => undefined), delay(READ_BEFORE_LEAVING_MS)]);
      this.hide({ restoreFocus: false });
      globalThis.location.assign(url);
      return;
    }
    try {
      await reading;
    } catch (err) {
      this._failed(err);
    }
  }

  async _act(action) {
    if (!this._store) return;
    this._panel.setError(null);
    try {
      await action(this._store.actions);
    } catch (err) {
      this._failed(err);
    }
  }

  _failed(err) {
    this._panel.setError(this._t("panel.actionFailed"));
    this._report(err);
  }

  _markSeen() {
    const snapshot = this._store?.getSnapshot();
    if (!snapshot || !this.open || document.hidden) return;
    if (snapshot.counts.unseen > 0 || snapshot.items.some((item) => !item.seen_at)) {
      this._act((actions) => actions.markAllSeen());
    }
  }

  async _loadMoreIfNearEnd() {
    if (!this._store || !this.open || !this._panel.nearEnd()) return;
    try {
      if (await this._store.loadMore()) queueMicrotask(() => this._loadMoreIfNearEnd());
    } catch (err) {
      this._panel.setError(this._t("panel.loadFailed"));
      this._report(err);
    }
  }

  async _enableDesktop() {
    await this._desktop.request();
    this._render();
  }

  // Rendering.

  _render() {
    const snapshot = this._store?.getSnapshot();
    this._showCounts(snapshot?.counts ?? { unread: 0, unseen: 0 });
    this._showState(snapshot);
    this._panel.render(snapshot?.groups ?? [], {
      loaded: Boolean(snapshot?.loaded),
      loading: Boolean(snapshot?.loading),
      hasMore: Boolean(snapshot?.hasMore),
      failed: Boolean(snapshot?.error),
      permission: this._desktop.permission,
      unread: snapshot?.counts.unread ?? 0,
    });
  }

  _showCounts({ unread, unseen }) {
    const changed = unread !== this._counts.unread || unseen !== this._counts.unseen;
    this._counts = { unread, unseen };
    const text = badgeText(unread);
    this._badge.textContent = text;
    this._badge.hidden = text === "";
    this._badge.classList.toggle("quiet", unseen === 0);
    this._button.classList.toggle("accent", unseen > 0);
    this._button.setAttribute("aria-label", unread > 0 ? this._t("bell.unread", { count: unread }) : this._t("bell.label"));
    if (changed) {
      this.dispatchEvent(new CustomEvent("tocsin-counts", { detail: this.counts, bubbles: true, composed: true }));
    }
  }

  _showState(snapshot) {
    let status = null;
    if (snapshot?.state === "connecting" && snapshot.everConnected) status = this._t("state.connecting");
    else if (snapshot?.state === "disconnected" && !this._owned) status = this._t("state.disconnected");
    this._panel.setStatus(status);
  }

  _tick() {
    this._store?.tick();
    refreshTimes(this._root, this._locale, Date.now());
  }

  _place() {
    // Right-aligned under the bell; left-aligned when that overflows; a sheet when neither fits.
    const panel = this._panel.node;
    panel.classList.remove("align-start", "sheet");
    const box = this.getBoundingClientRect();
    const width = panel.offsetWidth || 392;
    const viewport = document.documentElement.clientWidth || globalThis.innerWidth;
    if (box.right - width >= 8) return;
    if (box.left + width <= viewport - 8) {
      panel.classList.add("align-start");
      return;
    }
    panel.style.setProperty("--tocsin-panel-top", `${Math.round(box.bottom + 8)}px`);
    panel.classList.add("sheet");
  }

  _setLocale(requested) {
    this._locale = pickLocale(requested);
    this._t = translator(this._locale);
    this._relabel();
    this._render();
  }

  _relabel() {
    for (const node of [this._panel.node, this._region, this._modal.dialog]) node.lang = this._locale;
    this._panel.relabel(this._t);
    this._region.setAttribute("aria-label", this._t("toast.region"));
    this._button.setAttribute("aria-label", this._t("bell.label"));
  }

  _applyRules() {
    try {
      this._rules = mergeRules(this._rulesGiven ?? this.getAttribute("rules"));
    } catch (err) {
      this._rules = DEFAULT_RULES;
      this._report(err);
    }
  }
}

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

if (!customElements.get(TAG)) customElements.define(TAG, TocsinBell);
