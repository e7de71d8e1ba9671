/**
 * The user's JWT, obtained from the application's `token` option. `refresh()` asks the
 * application again (before each connect and when the server refuses the token); concurrent
 * calls share one request.
 */
export class TokenSource {
  /** @param {string | (() => string | Promise<string>)} token */
  constructor(token) {
    if (typeof token !== "function" && typeof token !== "string") {
      throw new TypeError("tocsin: token must be a string or a function returning a JWT");
    }
    this._get = typeof token === "function" ? token : () => token;
    /** @type {string | null} */
    this._token = null;
    /** @type {Promise<string> | null} */
    this._pending = null;
  }

  /** @returns {Promise<string>} the last token, or a new one when there is none */
  current() {
    return this._token !== null ? Promise.resolve(this._token) : this.refresh();
  }

  /** @returns {Promise<string>} a token fresh from the application */
  refresh() {
    this._pending ??= (async () => {
      try {
        const token = await this._get();
        if (typeof token !== "string" || token === "") {
          throw new TypeError("token() returned no token");
        }
        this._token = token;
        return token;
      } finally {
        this._pending = null;
      }
    })();
    return this._pending;
  }
}

/**
 * The `sub` claim (the user id) of a JWT, read without verification; null when unreadable.
 * Used only to tell whether a saved cursor belongs to the same user.
 * @param {string} jwt
 * @returns {string | null}
 */
export function jwtSubject(jwt) {
  try {
    const part = jwt.split(".")[1];
    const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
    const json = new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
    const sub = JSON.parse(json).sub;
    return typeof sub === "string" ? sub : null;
  } catch {
    return null;
  }
}
