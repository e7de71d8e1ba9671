/**
 * Tocsin's browser client (an ES module, no dependencies).
 *
 *     import { Tocsin, States } from "/tocsin.js";
 *     const tocsin = new Tocsin({ url: "https://notify.example.com", token: async () => jwt });
 *     tocsin.on("notification", (n) => show(n));
 *     tocsin.connect();
 */

import { Tocsin } from "./client.js";

export { Tocsin } from "./client.js";
export { States } from "./states.js";
export { TocsinError } from "./errors.js";
export default Tocsin;
