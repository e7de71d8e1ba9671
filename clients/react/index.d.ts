// TypeScript declarations of @tocsin/react (index.js and load.js).
// The notification shapes mirror the browser client's tocsin.d.ts.

import type { ForwardRefExoticComponent, HTMLAttributes, RefAttributes } from "react";

export type State = "disconnected" | "connecting" | "connected";
export type Priority = "low" | "normal" | "high" | "critical";

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
  priority: Priority;
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

/** Items whose `data.group` is equal, shown as one card (the newest is `lead`). */
export interface Group {
  key: string;
  items: Notification[];
  lead: Notification;
  unread: boolean;
  unseen: boolean;
  priority: Priority;
}

export interface Change {
  action: "seen" | "read" | "unread" | "archived";
  ids: string[] | null;
  all: boolean;
  at: string;
  counts: Counts;
}

/** The part of the browser client (`Tocsin` from /tocsin.js) these bindings use. */
export interface TocsinClient {
  readonly url: string;
  readonly state: State;
  readonly counts: Readonly<Counts> | null;
  on(event: string, fn: (value: any) => void): () => void;
  connect(): void;
  disconnect(): void;
}

export type Token = string | (() => string | Promise<string>);

export interface TocsinActions {
  markRead(ids: string | string[]): Promise<Change[]>;
  markUnread(ids: string | string[]): Promise<Change[]>;
  markSeen(ids: string | string[]): Promise<Change[]>;
  /** Archive (hidden from the inbox, kept on the server). */
  dismiss(ids: string | string[]): Promise<Change[]>;
  markAllRead(): Promise<Change>;
  markAllSeen(): Promise<Change>;
  clearAll(): Promise<Change>;
  /** Load the next older page; resolves to whether one arrived. */
  loadMore(): Promise<boolean>;
  /** Fetch the newest page again. */
  refresh(): Promise<void>;
}

export interface Modules {
  Tocsin: new (options: any) => TocsinClient;
  InboxStore: new (client: TocsinClient, options?: { pageSize?: number }) => unknown;
}

export interface UseTocsinOptions {
  /** An existing client (connected by the hook, never disconnected by it). */
  client?: TocsinClient | null;
  /** The Tocsin server, to create a client (with `token`). */
  url?: string;
  token?: Token;
  /** Items per page (20). */
  pageSize?: number;
  /** The modules when the app bundles them; else they are loaded from the server. */
  modules?: Modules;
  transports?: Array<"websocket" | "sse" | "longpoll">;
  shareTabs?: boolean;
  storage?: Pick<Storage, "getItem" | "setItem"> | null;
}

export interface UseTocsinResult {
  /** Loaded items, newest first (archived and expired left out). */
  notifications: Notification[];
  /** The same items grouped by `data.group`. */
  groups: Group[];
  counts: Counts;
  state: State;
  /** Whether the first page arrived. */
  loaded: boolean;
  loading: boolean;
  hasMore: boolean;
  error: unknown;
  /** Reject with "not connected yet" until the client exists. */
  actions: TocsinActions;
  client: TocsinClient | null;
}

export declare function useTocsin(options?: UseTocsinOptions): UseTocsinResult;

export interface BellOpenDetail {
  notification: Notification;
  notifications: Notification[];
  /** The safe absolute URL to follow, or null. */
  url: string | null;
}

export interface Rule {
  toast?: boolean;
  modal?: boolean;
  desktop?: boolean;
}

export interface TocsinBellProps extends Omit<HTMLAttributes<HTMLElement>, "onOpen"> {
  url?: string;
  token?: Token;
  client?: TocsinClient | null;
  locale?: string;
  theme?: "light" | "dark";
  rules?: Partial<Record<Priority, Rule>>;
  /** Milliseconds a toast stays (6000). */
  toastDuration?: number;
  /** false: this tab keeps its own connection. */
  shareTabs?: boolean;
  /** Cancelable: call `event.preventDefault()` to route `event.detail.url` yourself. */
  onOpen?: (event: CustomEvent<BellOpenDetail>) => void;
  onNotification?: (event: CustomEvent<{ notification: Notification }>) => void;
  onCounts?: (event: CustomEvent<Counts>) => void;
}

/** The `<tocsin-bell>` element as seen from script. */
export interface TocsinBellElement extends HTMLElement {
  token: Token | null;
  client: TocsinClient | null;
  rules: Partial<Record<Priority, Rule>> | null;
  locale: string;
  url: string | null;
  readonly counts: Counts;
  readonly open: boolean;
  readonly loaded: boolean;
  show(options?: { focus?: boolean }): void;
  hide(options?: { restoreFocus?: boolean }): void;
  toggle(): void;
}

export declare const TocsinBell: ForwardRefExoticComponent<TocsinBellProps & RefAttributes<TocsinBellElement>>;

/** `{Tocsin, InboxStore}` loaded from a Tocsin server (also from "@tocsin/react/load", without React). */
export declare function loadTocsin(url: string): Promise<Modules>;
/** Define `<tocsin-bell>` from a Tocsin server unless it is defined. */
export declare function loadBell(url: string): Promise<void>;
