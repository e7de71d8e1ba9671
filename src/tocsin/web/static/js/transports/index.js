/** The transports by name, best first. See base.js for the interface they share. */

import { LongPollTransport } from "./longpoll.js";
import { SseTransport } from "./sse.js";
import { WebSocketTransport } from "./websocket.js";

export const TRANSPORTS = Object.freeze({
  websocket: WebSocketTransport,
  sse: SseTransport,
  longpoll: LongPollTransport,
});

export const DEFAULT_ORDER = Object.freeze(["websocket", "sse", "longpoll"]);
