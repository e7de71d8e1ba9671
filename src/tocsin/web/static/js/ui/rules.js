/**
 * Display rules: what a new notification of each priority does besides joining the list.
 *
 * - `toast`: a brief toast in the page;
 * - `modal`: a dialog that stays until the user acknowledges it (marks it read);
 * - `desktop`: a system notification when the tab is hidden (after permission).
 *
 * Given rules are merged over the defaults, priority by priority and key by key, so
 * `{low: {toast: true}}` changes only that. Unknown priorities and keys are ignored.
 */

export const PRIORITIES = Object.freeze(["low", "normal", "high", "critical"]);
export const RULE_KEYS = Object.freeze(["toast", "modal", "desktop"]);

export const DEFAULT_RULES = freeze({
  low: { toast: false, modal: false, desktop: false },
  normal: { toast: true, modal: false, desktop: true },
  high: { toast: true, modal: false, desktop: true },
  critical: { toast: false, modal: true, desktop: true },
});

/**
 * The defaults with `custom` laid over them.
 * @param {unknown} custom an object, a JSON string of one, or null
 * @param {object} [base] the rules to start from
 * @returns {Readonly<Record<string, Readonly<{toast: boolean, modal: boolean, desktop: boolean}>>>}
 * @throws {TypeError} when `custom` is a string that is not a JSON object
 */
export function mergeRules(custom, base = DEFAULT_RULES) {
  let given = custom;
  if (typeof given === "string") {
    try {
      given = given.trim() === "" ? null : JSON.parse(given);
    } catch {
      throw new TypeError("tocsin-bell: rules must be a JSON object");
    }
  }
  if (given === null || given === undefined) return base;
  if (typeof given !== "object" || Array.isArray(given)) {
    throw new TypeError("tocsin-bell: rules must be an object keyed by priority");
  }
  const merged = {};
  for (const priority of PRIORITIES) {
    const over = isPlainObject(given[priority]) ? given[priority] : {};
    merged[priority] = {};
    for (const key of RULE_KEYS) {
      merged[priority][key] = Object.hasOwn(over, key) ? Boolean(over[key]) : base[priority][key];
    }
  }
  return freeze(merged);
}

/**
 * The rule for a priority (an unknown priority is treated as "normal").
 * @param {Record<string, {toast: boolean, modal: boolean, desktop: boolean}>} rules
 * @param {unknown} priority
 */
export function ruleFor(rules, priority) {
  return PRIORITIES.includes(priority) ? rules[priority] : rules.normal;
}

function isPlainObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function freeze(rules) {
  for (const value of Object.values(rules)) Object.freeze(value);
  return Object.freeze(rules);
}
