/**
 * React bindings for Tocsin (plain JavaScript, no JSX, no build step).
 *
 *     import { useTocsin, TocsinBell } from "@tocsin/react";
 *
 *     function Inbox() {
 *       const { notifications, counts, state, actions } = useTocsin({ url, token: getJwt });
 *       ...
 *     }
 *     <TocsinBell url={url} token={getJwt} onOpen={(e) => { e.preventDefault(); navigate(e.detail.url); }} />
 *
 * The hook wraps the same inbox store as `<tocsin-bell>` (live items, read state from every
 * tab and device, counts, paging), loaded from the Tocsin server unless `modules` are given.
 */

import {
  createElement,
  forwardRef,
  useEffect,
  useImperativeHandle,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
} from "react";

import { loadBell, loadTocsin } from "./load.js";

export { loadBell, loadTocsin } from "./load.js";

const EMPTY = Object.freeze({
  items: Object.freeze([]),
  groups: Object.freeze([]),
  counts: Object.freeze({ unread: 0, unseen: 0 }),
  state: "disconnected",
  loaded: false,
  loading: false,
  hasMore: false,
  error: null,
});
const subscribeNothing = () => () => {};
const emptySnapshot = () => EMPTY;

function notReady() {
  return Promise.reject(new Error("tocsin: not connected yet"));
}

/** Actions before the client exists: they reject, they do not queue. */
const NOT_READY = Object.freeze(
  Object.fromEntries(
    ["markRead", "markUnread", "markSeen", "dismiss", "markAllRead", "markAllSeen", "clearAll", "loadMore", "refresh"].map(
      (name) => [name, notReady],
    ),
  ),
);

/**
 * A token option that stays the same object across renders: a new inline function does not
 * reconnect, a new string (another user) does.
 * @param {unknown} token
 */
function useStableToken(token) {
  const latest = useRef(token);
  latest.current = token;
  const caller = useRef(null);
  caller.current ??= () => {
    const current = latest.current;
    return typeof current === "function" ? current() : current;
  };
  return { value: typeof token === "function" ? caller.current : token, key: typeof token === "function" ? "function" : token };
}

/**
 * Live notifications, counts and connection state for one user.
 *
 * @param {object} options
 * @param {object} [options.client] an existing Tocsin client (then `url` and `token` are not needed;
 *   the hook connects it but never disconnects it)
 * @param {string} [options.url] the Tocsin server, to create a client
 * @param {string | (() => string | Promise<string>)} [options.token] the user's JWT or a function returning one
 * @param {number} [options.pageSize] items per page (20)
 * @param {{Tocsin: Function, InboxStore: Function}} [options.modules] the modules, when the app
 *   bundles them itself (else they are loaded from the server)
 * Other options (`transports`, `shareTabs`, `storage`) go to the client when it is created.
 * @returns {{notifications: any[], groups: any[], counts: {unread: number, unseen: number},
 *   state: string, loaded: boolean, loading: boolean, hasMore: boolean, error: unknown,
 *   actions: object, client: object | null}}
 */
export function useTocsin(options = {}) {
  const { client: given = null, url, token, pageSize, modules, ...clientOptions } = options;
  const stable = useStableToken(token);
  const latestOptions = useRef(clientOptions);
  latestOptions.current = clientOptions;
  const [store, setStore] = useState(null);
  const [failure, setFailure] = useState(null);

  useEffect(() => {
    const base = given?.url ?? url;
    if (!given && (!base || stable.value == null)) return undefined; // wait for url and token
    let cancelled = false;
    let created = null;
    let owned = null;
    (modules ? Promise.resolve(modules) : loadTocsin(base)).then(
      ({ Tocsin, InboxStore }) => {
        if (cancelled) return;
        const client = given ?? (owned = new Tocsin({ ...latestOptions.current, url: base, token: stable.value }));
        created = new InboxStore(client, pageSize ? { pageSize } : undefined);
        created.start();
        client.connect();
        setFailure(null);
        setStore(created);
      },
      (err) => {
        if (!cancelled) setFailure(err);
      },
    );
    return () => {
      cancelled = true;
      created?.stop();
      owned?.disconnect();
      setStore(null);
    };
  }, [given, url, stable.key, modules, pageSize]); // eslint-disable-line react-hooks/exhaustive-deps

  const snapshot = useSyncExternalStore(
    store ? store.subscribe : subscribeNothing,
    store ? store.getSnapshot : emptySnapshot,
    store ? store.getSnapshot : emptySnapshot,
  );
  const actions = useMemo(() => store?.actions ?? NOT_READY, [store]);
  return {
    notifications: snapshot.items,
    groups: snapshot.groups,
    counts: snapshot.counts,
    state: snapshot.state,
    loaded: snapshot.loaded,
    loading: snapshot.loading,
    hasMore: snapshot.hasMore,
    error: failure ?? snapshot.error,
    actions,
    client: store?.client ?? given,
  };
}

const EVENTS = [
  ["tocsin-open", "onOpen"],
  ["tocsin-notification", "onNotification"],
  ["tocsin-counts", "onCounts"],
];

/**
 * `<tocsin-bell>` for React. Props: `url` and `token`, or `client`; `locale`, `theme`,
 * `rules` (object), `toastDuration` (ms), `shareTabs`; `onOpen` (cancelable: call
 * `event.preventDefault()` to route `event.detail.url` yourself), `onNotification`,
 * `onCounts`. The ref is the element. The element is loaded from the server when the page has
 * not loaded `/tocsin/ui/bell.js` itself.
 */
export const TocsinBell = forwardRef(function TocsinBell(props, ref) {
  const { client, url, token, rules, locale, theme, toastDuration, shareTabs, onOpen, onNotification, onCounts, ...rest } = props;
  const element = useRef(null);
  const stable = useStableToken(token);
  const handlers = useRef({});
  handlers.current = { onOpen, onNotification, onCounts };
  useImperativeHandle(ref, () => element.current, []);

  const base = client?.url ?? url;
  useEffect(() => {
    if (base) loadBell(base).catch((err) => globalThis.console?.warn?.("tocsin: could not load the bell:", err));
  }, [base]);
  // Properties, set whether or not the element is defined yet (it picks them up on upgrade).
  useEffect(() => {
    element.current.client = client ?? null;
  }, [client]);
  useEffect(() => {
    element.current.token = stable.value ?? null;
  }, [stable.key]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    element.current.rules = rules ?? null;
  }, [rules]);
  useEffect(() => {
    const node = element.current;
    const offs = EVENTS.map(([name, prop]) => {
      const listener = (event) => handlers.current[prop]?.(event);
      node.addEventListener(name, listener);
      return () => node.removeEventListener(name, listener);
    });
    return () => offs.forEach((off) => off());
  }, []);

  return createElement("tocsin-bell", {
    ...rest,
    ref: element,
    url: client ? undefined : url,
    locale,
    theme,
    "toast-duration": toastDuration,
    "share-tabs": shareTabs === false ? "false" : undefined,
  });
});
