/**
 * Grouping: items whose `data.group` is equal show as one card ("Ana and 4 others liked your
 * post"). The server does not group; the notification center groups the items it has loaded.
 *
 * A group's headline is built from its distinct actors, newest first. When the newest item
 * carries `data.summary` (a phrase such as "liked your post"), the title reads
 * "<actors> <summary>" and the actors line lists every name; otherwise the newest item's title
 * is kept and the actors line says who ("Ana and 4 others").
 */

const RANK = Object.freeze({ low: 0, normal: 1, high: 2, critical: 3 });

/**
 * The grouping key of an item: its `data.group` (a non-empty string or a finite number), or
 * null when it stands alone.
 * @param {{data?: any}} item
 * @returns {string | null}
 */
export function groupKey(item) {
  const group = item?.data?.group;
  if (typeof group === "string" && group !== "") return "g:" + group;
  if (typeof group === "number" && Number.isFinite(group)) return "g:" + String(group);
  return null;
}

/**
 * Cards for a list of items (newest first): each group at the place of its newest item.
 * @template T
 * @param {readonly T[]} items newest first
 * @returns {{key: string, items: T[], lead: T, unread: boolean, unseen: boolean, priority: string}[]}
 */
export function groupItems(items) {
  const entries = [];
  const byKey = new Map();
  for (const item of items) {
    const key = groupKey(item);
    const existing = key === null ? undefined : byKey.get(key);
    if (existing) {
      existing.items.push(item);
      continue;
    }
    const entry = { key: key ?? "i:" + item.id, items: [item] };
    if (key !== null) byKey.set(key, entry);
    entries.push(entry);
  }
  return entries.map(({ key, items: members }) => ({
    key,
    items: members,
    lead: members[0],
    unread: members.some((item) => !item.read_at),
    unseen: members.some((item) => !item.seen_at),
    priority: highestPriority(members),
  }));
}

/**
 * Distinct actors of some items, in order (an actor is identified by its id).
 * @param {readonly {actor?: {id: string, name?: string | null, avatar?: string | null} | null}[]} items
 */
export function actorsOf(items) {
  const seen = new Set();
  const actors = [];
  for (const item of items) {
    const actor = item.actor;
    if (!actor || typeof actor.id !== "string" || seen.has(actor.id)) continue;
    seen.add(actor.id);
    actors.push(actor);
  }
  return actors;
}

/**
 * What a card says: who (actors or source), the title, the body, and for groups a count.
 * @param {{items: any[], lead: any}} entry
 * @param {(key: string, params?: object) => string} t a translator (see i18n.js)
 * @returns {{who: string, title: string, body: string, count: number, actors: number, system: boolean}}
 */
export function headline(entry, t) {
  const lead = entry.lead;
  const actors = actorsOf(entry.items);
  const names = actors.map(displayName);
  const source = typeof lead.data?.source === "string" && lead.data.source !== "" ? lead.data.source : null;
  let who;
  if (names.length === 0) who = source ?? t("card.source.system");
  else if (names.length === 1) who = names[0];
  else if (names.length === 2) who = t("group.two", { first: names[0], second: names[1] });
  else who = t("group.more", { first: names[0], count: names.length - 1 });
  const count = entry.items.length;
  const summary = lead.data?.summary;
  let title = String(lead.title ?? "");
  if (count > 1 && names.length > 0 && typeof summary === "string" && summary !== "") {
    title = `${who} ${summary}`; // "Ana and 4 others liked your post"
    if (names.length > 2) who = listFormat(t.locale).format(names); // the meta line names them all
  }
  return { who, title, body: String(lead.body ?? ""), count, actors: names.length, system: names.length === 0 };
}

const listFormats = new Map();

function listFormat(locale = "en") {
  let format = listFormats.get(locale);
  if (!format) {
    format = new Intl.ListFormat(locale, { type: "conjunction" });
    listFormats.set(locale, format);
  }
  return format;
}

/**
 * The name to show for an actor (its id when it has no name).
 * @param {{id: string, name?: string | null}} actor
 */
export function displayName(actor) {
  return typeof actor.name === "string" && actor.name.trim() !== "" ? actor.name : String(actor.id);
}

/**
 * The most urgent priority among items ("normal" when none is known).
 * @param {readonly {priority?: string}[]} items
 */
export function highestPriority(items) {
  let best = "normal";
  let rank = -1;
  for (const item of items) {
    const value = Object.hasOwn(RANK, item.priority) ? item.priority : "normal";
    if (RANK[value] > rank) {
      rank = RANK[value];
      best = value;
    }
  }
  return best;
}
