/**
 * Load Tocsin's browser modules from a Tocsin server (no React needed): the client, the inbox
 * store, and the `<tocsin-bell>` element. Loading them from the server keeps the browser code
 * at the server's version; the server sends them with `Access-Control-Allow-Origin: *`, and a
 * page with a Content-Security-Policy must allow the server's origin in `script-src`.
 */

const loaded = new Map();

/**
 * The server's base URL, without a trailing slash.
 * @param {string} url
 */
export function baseUrl(url) {
  const parsed = new URL(url, globalThis.location?.href);
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new TypeError("tocsin: url must be an http(s) URL");
  }
  return (parsed.origin + parsed.pathname).replace(/\/+$/, "");
}

function once(key, load) {
  let promise = loaded.get(key);
  if (!promise) {
    promise = load();
    loaded.set(key, promise);
    promise.catch(() => loaded.delete(key)); // a failed load may be retried
  }
  return promise;
}

/**
 * `{Tocsin, InboxStore}` from `url` (loaded once per server).
 * @param {string} url the Tocsin server
 */
export function loadTocsin(url) {
  const base = baseUrl(url);
  return once(base, async () => {
    const [client, store] = await Promise.all([
      import(/* webpackIgnore: true */ /* @vite-ignore */ `${base}/tocsin.js`),
      import(/* webpackIgnore: true */ /* @vite-ignore */ `${base}/tocsin/ui/store.js`),
    ]);
    return { Tocsin: client.Tocsin, InboxStore: store.InboxStore };
  });
}

/**
 * Define `<tocsin-bell>` by loading it from `url`, unless it is defined already.
 * @param {string} url the Tocsin server
 * @returns {Promise<void>}
 */
export function loadBell(url) {
  if (globalThis.customElements?.get("tocsin-bell")) return Promise.resolve();
  const base = baseUrl(url);
  return once(`${base}#bell`, () =>
    import(/* webpackIgnore: true */ /* @vite-ignore */ `${base}/tocsin/ui/bell.js`).then(() => undefined),
  );
}
