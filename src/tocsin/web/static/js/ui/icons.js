/**
 * Inline SVG icons (24×24, stroked with currentColor), built with DOM calls from constant
 * shapes, and the choice of icon for a notification type.
 */

const SVG = "http://www.w3.org/2000/svg";

/** @type {Readonly<Record<string, readonly [string, Record<string, string | number>][]>>} */
const SHAPES = Object.freeze({
  bell: [
    ["path", { d: "M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9" }],
    ["path", { d: "M13.73 21a2 2 0 0 1-3.46 0" }],
  ],
  message: [["path", { d: "M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z" }]],
  heart: [
    [
      "path",
      {
        d: "M20.84 4.61a5.5 5.5 0 0 0-7.78 0L12 5.67l-1.06-1.06a5.5 5.5 0 0 0-7.78 7.78l1.06 1.06L12 21.23l7.78-7.78 1.06-1.06a5.5 5.5 0 0 0 0-7.78z",
      },
    ],
  ],
  userPlus: [
    ["path", { d: "M16 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2" }],
    ["circle", { cx: 8.5, cy: 7, r: 4 }],
    ["path", { d: "M20 8v6M23 11h-6" }],
  ],
  shield: [["path", { d: "M12 22s8-4 8-10V5l-8-3-8 3v7c0 6 8 10 8 10z" }]],
  info: [
    ["circle", { cx: 12, cy: 12, r: 10 }],
    ["path", { d: "M12 16v-4M12 8h.01" }],
  ],
  alert: [
    ["path", { d: "M10.29 3.86 1.82 18a2 2 0 0 0 1.71 3h16.94a2 2 0 0 0 1.71-3L13.71 3.86a2 2 0 0 0-3.42 0z" }],
    ["path", { d: "M12 9v4M12 17h.01" }],
  ],
  at: [
    ["circle", { cx: 12, cy: 12, r: 4 }],
    ["path", { d: "M16 8v5a3 3 0 0 0 6 0v-1a10 10 0 1 0-3.92 7.94" }],
  ],
  x: [["path", { d: "M18 6 6 18M6 6l12 12" }]],
  check: [["path", { d: "M20 6 9 17l-5-5" }]],
  checks: [["path", { d: "M18 6 7 17l-5-5M22 10l-7.5 7.5L13 16" }]],
  trash: [["path", { d: "M3 6h18M19 6l-1 14a2 2 0 0 1-2 2H8a2 2 0 0 1-2-2L5 6M10 11v6M14 11v6M9 6V4a1 1 0 0 1 1-1h4a1 1 0 0 1 1 1v2" }]],
  monitor: [
    ["rect", { x: 2, y: 3, width: 20, height: 14, rx: 2 }],
    ["path", { d: "M8 21h8M12 17v4" }],
  ],
});

/** Notification type (or its first part, "comment.reply" -> "comment") -> icon. */
const TYPE_ICONS = Object.freeze({
  message: "message",
  comment: "message",
  reply: "message",
  chat: "message",
  mention: "at",
  like: "heart",
  reaction: "heart",
  friend_request: "userPlus",
  follow: "userPlus",
  invite: "userPlus",
  security: "shield",
  login: "shield",
  password: "shield",
  alert: "alert",
  system: "info",
  maintenance: "info",
});

/**
 * The icon name for a notification type; "info" when unknown.
 * @param {unknown} type
 * @returns {string}
 */
export function iconForType(type) {
  const name = String(type ?? "").toLowerCase();
  if (Object.hasOwn(TYPE_ICONS, name)) return TYPE_ICONS[name];
  const first = name.split(/[.:]/)[0];
  return Object.hasOwn(TYPE_ICONS, first) ? TYPE_ICONS[first] : "info";
}

/**
 * A decorative `<svg>` for an icon name (hidden from assistive technology).
 * @param {string} name a key of SHAPES
 * @returns {SVGSVGElement}
 */
export function icon(name) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "2");
  svg.setAttribute("stroke-linecap", "round");
  svg.setAttribute("stroke-linejoin", "round");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", "icon icon-" + name);
  for (const [tag, attrs] of SHAPES[name] ?? SHAPES.info) {
    const shape = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs)) shape.setAttribute(key, String(value));
    svg.append(shape);
  }
  return svg;
}
