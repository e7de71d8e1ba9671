/**
 * The one error class of the client.
 *
 * Every failure reaches the application as a `TocsinError`: inbox calls reject with it and the
 * `error` event carries it. `code` is stable and machine-readable (the server's error code when
 * the server gave one, e.g. `not_found`, `invalid_token`; or one of the client's own:
 * `network_error`, `token_error`, `unauthorized`, `connection_error`, `bad_response`);
 * `status` is the HTTP status, or 0 when there was no HTTP answer.
 */
export class TocsinError extends Error {
  /**
   * @param {string} code stable machine-readable code
   * @param {string} message human explanation
   * @param {{status?: number, cause?: unknown}} [options]
   */
  constructor(code, message, { status = 0, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "TocsinError";
    this.code = code;
    this.status = status;
  }
}

/**
 * `value` as a TocsinError: kept when it already is one, else wrapped with `code`.
 * @param {unknown} value
 * @param {string} code
 * @returns {TocsinError}
 */
export function asTocsinError(value, code) {
  if (value instanceof TocsinError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new TocsinError(code, message, { cause: value });
}
