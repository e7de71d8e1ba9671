// TypeScript declarations of Tocsin's browser client (index.js).

/** Connection states. */
export declare const States: Readonly<{
  DISCONNECTED: "disconnected";
  CONNECTING: "connecting";
  CONNECTED: "connected";
}>;
export type State = (typeof States)[keyof typeof States];

export type TransportName = "websocket" | "sse" | "longpoll";

/** The one error class: inbox rejections and `error` events. */
export declare class TocsinError extends Error {
  constructor(code: string, message: string, options?: { status?: number; cause?: unknown });
  readonly name: "TocsinError";
  /** Stable code: the server's (`not_found`, `invalid_token`...) or the client's
   * (`network_error`, `token_error`, `unauthorized`, `connection_closed`, `bad_response`). */
  code: string;
  /** HTTP status, or 0 when there was no HTTP answer. */
  status: number;
}

export interface Counts {
  unread: number;
  unseen: number;
}

export interface Actor {
  id: string;
  name: string | null;
  avatar: string | null;
}

/** One inbox item (times are ISO 8601 UTC strings). Text fields are data, never HTML. */
export interface Notification {
  id: string;
  seq: number;
  type: string;
  title: string;
  body: string;
  priority: "low" | "normal" | "high" | "critical";
  url: string | null;
  actor: Actor | null;
  data: Record<string, unknown>;
  audience: "user" | "everyone";
  created_at: string;
  expires_at: string | null;
  seen_at: string | null;
  read_at: string | null;
  archived_at: string | null;
}

/** A read-state change (a `state` frame, or the answer to an inbox action). */
export interface Change {
  action: "seen" | "read" | "unread" | "archived";
  /** The items changed; null when all were. */
  ids: string[] | null;
  all: boolean;
  at: string;
  counts: Counts;
}

export interface Page {
  items: Notification[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  next_cursor: string | null;
  counts: Counts;
}

export interface ListOptions {
  cursor?: string | null;
  limit?: number;
  unread?: boolean;
}

/** Replaceable time source (tests drive timers by hand). */
export interface Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
  random(): number;
}

export interface TocsinOptions {
  /** Server base URL (http/https; relative URLs resolve against the page). Default: the page's origin. */
  url?: string;
  /** The user's JWT, or a function returning it; called before each connect and when the server refuses the token. */
  token: string | (() => string | Promise<string>);
  /** Transports to use, best first. Default `["websocket", "sse", "longpoll"]`. */
  transports?: TransportName[];
  /** Share one connection between the tabs of this browser that belong to the same user. Default true. */
  shareTabs?: boolean;
  /** The user id, when known before connecting: tabs of this user share a connection (and hear each other's inbox actions) at once. Default: the token's `sub`, read at connect(). */
  user?: string;
  /** Where the resume cursor is kept; null for none. Default `localStorage`. */
  storage?: Pick<Storage, "getItem" | "setItem"> | null;
  WebSocket?: unknown;
  EventSource?: unknown;
  fetch?: typeof fetch;
  BroadcastChannel?: unknown;
  /** `navigator.locks`; null to elect the leader tab with heartbeats instead. */
  locks?: unknown;
  clock?: Clock;
}

export interface TocsinEvents {
  /** A new notification (deduplicated by id, in seq order). */
  notification: Notification;
  counts: Counts;
  state: State;
  change: Change;
  error: TocsinError;
}

export declare class Tocsin {
  constructor(options: TocsinOptions);
  /** The normalized server base URL. */
  readonly url: string;
  readonly state: State;
  /** The transport in use (in a follower tab: the leader's); null before the first connection. */
  readonly transport: TransportName | null;
  /** The latest counts, or null before they are known. Use `fetchCounts()` to ask the server. */
  readonly counts: Readonly<Counts> | null;
  /** Whether this tab holds the (shared) connection. */
  readonly isLeader: boolean;

  /** Listen to an event; returns a function that removes the listener. */
  on<E extends keyof TocsinEvents>(event: E, fn: (value: TocsinEvents[E]) => void): () => void;
  off<E extends keyof TocsinEvents>(event: E, fn: (value: TocsinEvents[E]) => void): void;
  connect(): void;
  disconnect(): void;

  list(options?: ListOptions): Promise<Page>;
  fetchCounts(): Promise<Counts>;
  markRead(id: string): Promise<Change>;
  markUnread(id: string): Promise<Change>;
  markSeen(id: string): Promise<Change>;
  markAllRead(): Promise<Change>;
  markAllSeen(): Promise<Change>;
  dismiss(id: string): Promise<Change>;
  clearAll(): Promise<Change>;
}

export default Tocsin;
