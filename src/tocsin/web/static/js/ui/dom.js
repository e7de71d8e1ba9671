/**
 * Building elements without HTML strings. Text always goes in as Text nodes and values as
 * attributes set through the DOM, so notification data can never become markup. Attribute
 * names come from this code only, never from data.
 */

/**
 * `h("button", {class: "x", "aria-label": label}, child, "text")`.
 * Attributes whose value is null, undefined or false are left out; true sets an empty one.
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...(Node | string | null | undefined | false)} children strings become Text nodes
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttributes(node, attrs);
  node.append(...children.filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

/**
 * @param {Element} node
 * @param {Record<string, unknown>} attrs
 */
export function setAttributes(node, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) node.removeAttribute(name);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
}

/**
 * The element that has focus, looking inside shadow roots.
 * @param {Document | ShadowRoot} [root]
 * @returns {Element | null}
 */
export function deepActiveElement(root = document) {
  let active = root.activeElement;
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
  return active;
}

/** Elements that can take focus with Tab, in order, under `root`. */
export function tabbables(root) {
  const selector =
    'button:not([disabled]), a[href], input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';
  return [...root.querySelectorAll(selector)].filter(
    (node) => !node.closest("[hidden]") && node.getClientRects().length > 0,
  );
}
