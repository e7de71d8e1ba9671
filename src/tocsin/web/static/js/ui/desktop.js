/**
 * System notifications (the Notification API) for a tab the user is not looking at. Permission
 * is only ever requested from a user gesture (the "Enable desktop notifications" button); a
 * click on a system notification brings the tab forward and opens the item like a card would.
 * A notification read anywhere closes its system notification here.
 */

import { headline } from "./group.js";
import { safeUrl } from "./safety.js";

export class DesktopNotifier {
  /**
   * @param {object} options
   * @param {(item: any) => void} options.onClick
   * @param {typeof Notification} [options.Notification]
   */
  constructor({ onClick, Notification = globalThis.Notification }) {
    this._Notification = typeof Notification === "function" ? Notification : null;
    this._onClick = onClick;
    /** @type {Map<string, {notification: Notification, item: any}>} */
    this._open = new Map();
  }

  /** Whether the browser has the Notification API. */
  get supported() {
    return this._Notification !== null;
  }

  /** "granted", "denied", "default", or "unsupported". */
  get permission() {
    return this._Notification ? this._Notification.permission : "unsupported";
  }

  /**
   * Ask for permission; call it from a click handler (browsers refuse it otherwise).
   * @returns {Promise<string>} the permission afterwards
   */
  async request() {
    if (!this._Notification || this.permission !== "default") return this.permission;
    try {
      return await this._Notification.requestPermission();
    } catch {
      return this.permission;
    }
  }

  /**
   * Show a system notification for an item, when permitted.
   * @param {any} item
   * @param {(key: string, params?: object) => string} t
   * @returns {boolean} whether one was shown
   */
  show(item, t) {
    if (this.permission !== "granted") return false;
    const text = headline({ items: [item], lead: item }, t);
    const options = {
      body: text.body ? `${text.who}: ${text.body}` : text.who,
      tag: "tocsin:" + item.id,
      data: { id: item.id },
      requireInteraction: item.priority === "critical",
    };
    const iconUrl = safeUrl(item.actor?.avatar);
    if (iconUrl) options.icon = iconUrl;
    let notification;
    try {
      notification = new this._Notification(text.title, options);
    } catch {
      return false; // e.g. browsers that only allow them from a service worker
    }
    this._open.set(item.id, { notification, item });
    notification.onclick = (event) => {
      event?.preventDefault?.();
      globalThis.focus?.();
      this.close(item.id);
      this._onClick(item);
    };
    notification.onclose = () => {
      if (this._open.get(item.id)?.notification === notification) this._open.delete(item.id);
    };
    return true;
  }

  /** @param {string} id */
  close(id) {
    const open = this._open.get(id);
    if (!open) return;
    this._open.delete(id);
    try {
      open.notification.close();
    } catch {
      // already gone
    }
  }

  /**
   * Close the system notifications of the items `predicate` accepts (read elsewhere).
   * @param {(item: any) => boolean} predicate
   */
  closeWhere(predicate) {
    for (const [id, { item }] of [...this._open]) if (predicate(item)) this.close(id);
  }

  /** Close every system notification this page opened. */
  closeAll() {
    for (const id of [...this._open.keys()]) this.close(id);
  }
}
