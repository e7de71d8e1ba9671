/**
 * The notification center's stylesheet: a constant string (never built from data), adopted
 * by the shadow root. Colours are custom properties a page may override on the element:
 *
 *     tocsin-bell { --tocsin-accent: #0a7; --tocsin-critical: #c00; }
 *
 * Light by default, dark under `prefers-color-scheme: dark`, or forced by `theme="light|dark"`.
 */

const LIGHT = `
  --tocsin-accent: #4f46e5;
  --tocsin-accent-soft: rgb(79 70 229 / 0.09);
  --tocsin-accent-fg: #ffffff;
  --tocsin-critical: #dc2626;
  --tocsin-critical-soft: #fef2f2;
  --tocsin-critical-fg: #ffffff;
  --tocsin-badge: #e11d48;
  --tocsin-badge-quiet: #6b7280;
  --tocsin-bg: #ffffff;
  --tocsin-surface: #ffffff;
  --tocsin-surface-2: #f8fafc;
  --tocsin-fg: #111827;
  --tocsin-fg-2: #374151;
  --tocsin-muted: #6b7280;
  --tocsin-border: #e5e7eb;
  --tocsin-divider: #f1f2f4;
  --tocsin-hover: #f4f5f7;
  --tocsin-unread: rgb(79 70 229 / 0.045);
  --tocsin-initials-l: 88%;
  --tocsin-initials-fg-l: 28%;
  --tocsin-shadow: 0 16px 40px -12px rgb(15 23 42 / 0.28), 0 4px 12px -6px rgb(15 23 42 / 0.12);
  --tocsin-backdrop: rgb(15 23 42 / 0.5);
`;

const DARK = `
  --tocsin-accent: #8b93ff;
  --tocsin-accent-soft: rgb(139 147 255 / 0.14);
  --tocsin-accent-fg: #0f1117;
  --tocsin-critical: #f87171;
  --tocsin-critical-soft: rgb(248 113 113 / 0.12);
  --tocsin-critical-fg: #1a0b0b;
  --tocsin-badge: #f43f5e;
  --tocsin-badge-quiet: #6b7280;
  --tocsin-bg: #0f1117;
  --tocsin-surface: #181a21;
  --tocsin-surface-2: #14161c;
  --tocsin-fg: #eef0f4;
  --tocsin-fg-2: #c9ccd4;
  --tocsin-muted: #979cab;
  --tocsin-border: #2b2f3a;
  --tocsin-divider: #22252e;
  --tocsin-hover: #21242d;
  --tocsin-unread: rgb(139 147 255 / 0.06);
  --tocsin-initials-l: 30%;
  --tocsin-initials-fg-l: 86%;
  --tocsin-shadow: 0 18px 44px -10px rgb(0 0 0 / 0.65), 0 4px 14px -6px rgb(0 0 0 / 0.5);
  --tocsin-backdrop: rgb(0 0 0 / 0.6);
`;

export const STYLES = `
:host {
  ${LIGHT}
  --tocsin-font: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Liberation Sans", Arial, sans-serif;
  --tocsin-radius: 14px;
  position: relative;
  display: inline-block;
  font-family: var(--tocsin-font);
  line-height: normal;
  color: var(--tocsin-fg);
  -webkit-font-smoothing: antialiased;
}
@media (prefers-color-scheme: dark) {
  :host(:not([theme="light"])) { ${DARK} }
}
:host([theme="dark"]) { ${DARK} }
:host([hidden]) { display: none; }

*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
button { font: inherit; color: inherit; }
.icon { width: 18px; height: 18px; flex: none; display: block; }
.sr-only {
  position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
:focus { outline: none; }
:focus-visible { outline: 2px solid var(--tocsin-accent); outline-offset: 2px; }

/* The bell */
.bell {
  position: relative; display: inline-grid; place-items: center;
  width: 40px; height: 40px; padding: 0; border: 0; border-radius: 999px;
  background: transparent; color: var(--tocsin-muted); cursor: pointer;
  transition: background-color .15s ease, color .15s ease;
}
.bell .icon { width: 22px; height: 22px; }
.bell:hover { background: var(--tocsin-hover); color: var(--tocsin-fg); }
.bell.accent { color: var(--tocsin-accent); }
.bell.accent .icon { transform-origin: 50% 2px; animation: tocsin-ring 1s ease-in-out 1; }
.bell[aria-expanded="true"] { background: var(--tocsin-accent-soft); color: var(--tocsin-accent); }
.badge {
  position: absolute; top: 1px; left: 21px;
  min-width: 19px; height: 19px; padding: 0 5px; border-radius: 10px;
  background: var(--tocsin-badge); color: #fff;
  font: 700 11px/19px var(--tocsin-font); text-align: center; letter-spacing: -0.01em;
  font-variant-numeric: tabular-nums; white-space: nowrap;
  box-shadow: 0 0 0 2px var(--tocsin-bg);
  pointer-events: none;
}
.badge.quiet { background: var(--tocsin-badge-quiet); }
@keyframes tocsin-ring {
  0%, 100% { transform: rotate(0); }
  15% { transform: rotate(14deg); } 30% { transform: rotate(-12deg); }
  45% { transform: rotate(8deg); } 60% { transform: rotate(-5deg); } 75% { transform: rotate(2deg); }
}

/* The dropdown */
.panel {
  position: absolute; top: calc(100% + 10px); right: -6px; z-index: 2147483000;
  width: min(392px, calc(100vw - 16px)); max-height: min(580px, calc(100vh - 88px));
  display: flex; flex-direction: column;
  background: var(--tocsin-surface); color: var(--tocsin-fg);
  border: 1px solid var(--tocsin-border); border-radius: var(--tocsin-radius);
  box-shadow: var(--tocsin-shadow); overflow: hidden;
  text-align: left; font-size: 14px;
  animation: tocsin-pop .14s ease-out;
}
.panel:focus { outline: none; }
/* Narrow screens: a sheet across the viewport, under the bell (its top is set on opening). */
.panel.sheet {
  position: fixed; left: 8px; right: 8px; top: var(--tocsin-panel-top, 64px); width: auto;
  max-height: calc(100vh - var(--tocsin-panel-top, 64px) - 8px);
}
.panel.align-start { right: auto; left: -6px; }
@keyframes tocsin-pop { from { opacity: 0; transform: translateY(-4px) scale(.98); } }
.panel-head {
  display: flex; align-items: center; justify-content: space-between; gap: 8px;
  padding: 14px 12px 12px 18px; border-bottom: 1px solid var(--tocsin-border);
}
.panel-title { margin: 0; font-size: 16px; font-weight: 650; letter-spacing: -0.01em; }
.link-btn {
  display: inline-flex; align-items: center; gap: 6px;
  padding: 6px 8px; border: 0; border-radius: 8px; background: transparent;
  color: var(--tocsin-accent); font-size: 13px; font-weight: 550; cursor: pointer; white-space: nowrap;
}
.link-btn .icon { width: 16px; height: 16px; }
.link-btn:hover:not(:disabled) { background: var(--tocsin-accent-soft); }
.link-btn:disabled { color: var(--tocsin-muted); opacity: .55; cursor: default; }
.link-btn.quiet { color: var(--tocsin-muted); }
.link-btn.quiet:hover:not(:disabled) { background: var(--tocsin-hover); color: var(--tocsin-fg); }
.link-btn.danger:hover:not(:disabled) { background: var(--tocsin-critical-soft); color: var(--tocsin-critical); }
.status, .error {
  display: flex; align-items: center; gap: 8px;
  padding: 7px 18px; font-size: 12.5px; color: var(--tocsin-muted);
  background: var(--tocsin-surface-2); border-bottom: 1px solid var(--tocsin-border);
}
.status::before { content: ""; width: 7px; height: 7px; border-radius: 50%; background: #f59e0b; }
.error { color: var(--tocsin-critical); background: var(--tocsin-critical-soft); }
.scroller { flex: 1 1 auto; min-height: 0; overflow-y: auto; overscroll-behavior: contain; }
.feed { display: block; margin: 0; padding: 0; }
.sentinel { height: 1px; }
.more { display: flex; justify-content: center; padding: 12px; color: var(--tocsin-muted); font-size: 12.5px; }
.spinner {
  width: 14px; height: 14px; margin-right: 8px; border-radius: 50%;
  border: 2px solid var(--tocsin-border); border-top-color: var(--tocsin-accent);
  animation: tocsin-spin .8s linear infinite;
}
@keyframes tocsin-spin { to { transform: rotate(360deg); } }
.empty {
  display: flex; flex-direction: column; align-items: center; gap: 4px;
  padding: 44px 28px 48px; text-align: center; color: var(--tocsin-muted); font-size: 13px;
}
.empty-icon {
  display: grid; place-items: center; width: 52px; height: 52px; margin-bottom: 10px;
  border-radius: 50%; background: var(--tocsin-accent-soft); color: var(--tocsin-accent);
}
.empty-icon .icon { width: 24px; height: 24px; }
.empty-title { color: var(--tocsin-fg); font-size: 15px; font-weight: 600; }
.panel-foot {
  display: flex; align-items: center; justify-content: space-between; gap: 8px;
  padding: 8px 10px; border-top: 1px solid var(--tocsin-border); background: var(--tocsin-surface-2);
}
.panel-foot .spacer { flex: 1; }
.panel-foot .enable-desktop { flex: 0 1 auto; min-width: 0; white-space: normal; text-align: left; }
.panel-foot .clear-all { flex: none; }

/* Cards */
.card {
  position: relative; display: grid; grid-template-columns: 44px minmax(0, 1fr) 28px;
  gap: 12px; align-items: start;
  padding: 13px 10px 13px 18px; border-bottom: 1px solid var(--tocsin-divider);
  cursor: pointer; transition: background-color .12s ease;
}
.card:last-child { border-bottom: 0; }
.card.unread { background: var(--tocsin-unread); }
.card:hover { background: var(--tocsin-hover); }
.card:focus-visible { outline: none; box-shadow: inset 0 0 0 2px var(--tocsin-accent); }
.card.prio-high::before, .card.prio-critical::before, .toast.prio-high::before, .toast.prio-critical::before {
  content: ""; position: absolute; left: 0; top: 0; bottom: 0; width: 3px; background: var(--tocsin-critical);
}
.card.prio-critical { background: var(--tocsin-critical-soft); }
.card.prio-critical:hover { background: color-mix(in srgb, var(--tocsin-critical-soft), var(--tocsin-critical) 6%); }
.card.prio-low .title, .card.prio-low .body, .card.prio-low .who { color: var(--tocsin-muted); }
.card.prio-low .avatars { opacity: .7; }

.avatars { position: relative; display: block; width: 44px; height: 44px; }
.avatar {
  display: grid; place-items: center; width: 44px; height: 44px; border-radius: 50%;
  object-fit: cover; background: var(--tocsin-hover); overflow: hidden;
}
.avatar.initials {
  background: hsl(var(--hue, 220) 55% var(--tocsin-initials-l));
  color: hsl(var(--hue, 220) 45% var(--tocsin-initials-fg-l));
  font-size: 15px; font-weight: 650; letter-spacing: .02em;
}
.avatar.system { color: var(--type); background: color-mix(in srgb, var(--type) 15%, transparent); }
.avatar.system .icon { width: 21px; height: 21px; }
.avatars.stacked .avatar { position: absolute; width: 32px; height: 32px; font-size: 12px; }
/* Two people: the newest in front (bottom left), the one before behind (top right). */
.avatars.stacked .avatar:first-child { top: 0; right: 0; }
.avatars.stacked .avatar:nth-child(2) { left: 0; bottom: 0; box-shadow: 0 0 0 2px var(--tocsin-surface); }
.type-badge {
  position: absolute; right: -3px; bottom: -3px; display: grid; place-items: center;
  width: 20px; height: 20px; border-radius: 50%; color: #fff; background: var(--type);
  box-shadow: 0 0 0 2px var(--tocsin-surface);
}
.type-badge .icon { width: 11px; height: 11px; stroke-width: 2.6; }
.type-message { --type: #3b82f6; } .type-heart { --type: #ec4899; } .type-userPlus { --type: #10b981; }
.type-shield { --type: #f59e0b; } .type-info { --type: #6366f1; } .type-alert { --type: var(--tocsin-critical); }
.type-at { --type: #8b5cf6; }

.content { display: flex; flex-direction: column; gap: 3px; min-width: 0; padding-top: 1px; }
.meta { display: flex; align-items: baseline; gap: 6px; min-width: 0; font-size: 12.5px; color: var(--tocsin-muted); }
.who { min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-weight: 600; color: var(--tocsin-fg); }
.count {
  flex: none; padding: 0 6px; border-radius: 999px; background: var(--tocsin-hover);
  font-size: 11px; font-weight: 650; line-height: 17px; color: var(--tocsin-muted);
}
.sep, .time { flex: none; white-space: nowrap; }
.title, .body {
  display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 2;
  overflow: hidden; overflow-wrap: anywhere; white-space: normal;
}
.title { font-size: 14px; line-height: 1.38; color: var(--tocsin-fg); font-weight: 500; }
.unread .title { font-weight: 620; }
.body { font-size: 13px; line-height: 1.42; color: var(--tocsin-muted); }
.prio {
  display: inline-grid; place-items: center; width: 16px; height: 16px; margin-right: 6px;
  border-radius: 50%; background: var(--tocsin-critical); color: var(--tocsin-critical-fg);
  font-size: 11px; font-weight: 800; line-height: 1; vertical-align: 1px;
}
.side { display: flex; flex-direction: column; align-items: center; gap: 8px; padding-top: 5px; }
.dot { width: 9px; height: 9px; border-radius: 50%; background: var(--tocsin-accent); }
.read .dot { visibility: hidden; }
.prio-high .dot, .prio-critical .dot { background: var(--tocsin-critical); }
.dismiss, .close {
  display: grid; place-items: center; width: 28px; height: 28px; padding: 0;
  border: 0; border-radius: 8px; background: transparent; color: var(--tocsin-muted); cursor: pointer;
}
.dismiss { opacity: 0; transition: opacity .12s ease; }
.card:hover .dismiss, .card:focus-visible .dismiss, .dismiss:focus-visible { opacity: 1; }
@media (hover: none) { .dismiss { opacity: 1; } }
.dismiss:hover, .close:hover { background: var(--tocsin-border); color: var(--tocsin-fg); }
.dismiss .icon, .close .icon { width: 16px; height: 16px; }

/* Toasts */
.toasts {
  position: fixed; inset: auto 20px 20px auto; z-index: 2147483001;
  width: min(380px, calc(100vw - 32px)); height: auto; margin: 0; padding: 0;
  border: 0; background: transparent; overflow: visible; color: var(--tocsin-fg);
  display: flex; flex-direction: column-reverse; gap: 10px; pointer-events: none;
}
/* Oldest at the bottom, new ones stack above: a toast under the pointer never moves. */
.toast {
  position: relative; display: grid; grid-template-columns: 44px minmax(0, 1fr) 28px; gap: 12px;
  padding: 14px 10px 15px 16px; overflow: hidden; pointer-events: auto; cursor: pointer;
  background: var(--tocsin-surface); color: var(--tocsin-fg);
  border: 1px solid var(--tocsin-border); border-radius: var(--tocsin-radius);
  box-shadow: var(--tocsin-shadow); font-size: 14px; text-align: left;
  animation: tocsin-toast-in .22s cubic-bezier(.2, .9, .3, 1.2);
}
.toast.leaving { animation: tocsin-toast-out .18s ease-in forwards; }
.toast .progress {
  position: absolute; left: 0; right: 0; bottom: 0; height: 3px; transform-origin: left;
  background: var(--tocsin-accent); opacity: .55;
  animation: tocsin-progress var(--duration, 6000ms) linear forwards;
}
.toast.prio-high .progress { background: var(--tocsin-critical); }
.toast.paused .progress { animation-play-state: paused; }
@keyframes tocsin-toast-in { from { opacity: 0; transform: translateY(12px) scale(.98); } }
@keyframes tocsin-toast-out { to { opacity: 0; transform: translateX(24px); } }
@keyframes tocsin-progress { to { transform: scaleX(0); } }

/* The critical modal */
.modal {
  width: min(460px, calc(100vw - 32px)); max-height: calc(100vh - 48px); padding: 0;
  border: 0; border-radius: 18px; overflow: auto;
  background: var(--tocsin-surface); color: var(--tocsin-fg);
  box-shadow: 0 30px 80px -20px rgb(0 0 0 / 0.55); font-size: 14px; text-align: left;
}
.modal::backdrop { background: var(--tocsin-backdrop); backdrop-filter: blur(3px); }
.modal[open] { animation: tocsin-pop .18s ease-out; }
.modal-band { height: 5px; background: var(--tocsin-critical); }
.modal-inner { display: grid; gap: 16px; padding: 24px 26px 22px; }
.modal-head { display: flex; align-items: center; gap: 14px; }
.modal-icon {
  display: grid; place-items: center; flex: none; width: 46px; height: 46px; border-radius: 50%;
  background: var(--tocsin-critical-soft); color: var(--tocsin-critical);
}
.modal-icon .icon { width: 23px; height: 23px; }
.modal-kicker {
  margin: 0 0 3px; font-size: 11.5px; font-weight: 750; letter-spacing: .08em;
  text-transform: uppercase; color: var(--tocsin-critical);
}
.modal-title { margin: 0; font-size: 19px; line-height: 1.3; font-weight: 680; overflow-wrap: anywhere; }
.modal-body {
  margin: 0; max-height: 40vh; overflow: auto; font-size: 14.5px; line-height: 1.55;
  color: var(--tocsin-fg-2); white-space: pre-line; overflow-wrap: anywhere;
}
.modal-meta { display: flex; align-items: center; gap: 8px; min-width: 0; font-size: 13px; color: var(--tocsin-muted); }
.modal-meta .avatar { width: 24px; height: 24px; font-size: 10px; }
.modal-meta .who { font-weight: 600; color: var(--tocsin-fg-2); }
.modal-actions { display: flex; align-items: center; justify-content: flex-end; gap: 10px; padding-top: 4px; }
.modal-actions .waiting { margin-right: auto; font-size: 12.5px; color: var(--tocsin-muted); }
.btn {
  padding: 10px 18px; border: 1px solid var(--tocsin-border); border-radius: 10px;
  background: var(--tocsin-surface); color: var(--tocsin-fg); font-size: 14px; font-weight: 600; cursor: pointer;
}
.btn:hover { background: var(--tocsin-hover); }
.btn.primary { border-color: transparent; background: var(--tocsin-critical); color: var(--tocsin-critical-fg); }
.btn.primary:hover { background: color-mix(in srgb, var(--tocsin-critical), #000 12%); }

@media (prefers-reduced-motion: reduce) {
  *, *::before, *::after { animation: none !important; transition: none !important; }
}
`;

let sheet = null;

/**
 * Style a shadow root: a shared constructed stylesheet where supported, else a `<style>`.
 * @param {ShadowRoot} root
 */
export function adoptStyles(root) {
  try {
    sheet ??= new CSSStyleSheet();
    if (sheet.cssRules.length === 0) sheet.replaceSync(STYLES);
    root.adoptedStyleSheets = [sheet];
  } catch {
    const style = document.createElement("style");
    style.textContent = STYLES;
    root.prepend(style);
  }
}
