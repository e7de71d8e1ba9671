/**
 * The demo app: a tiny social page. Pick a person; the others can like, comment on, message
 * and befriend them through the demo API, which publishes real notifications via Tocsin's
 * public API. Open two windows as two people to watch them arrive live.
 *
 * It shows the two ways to use the browser pieces: the client from `/tocsin.js` (connection
 * state, token refresh) handed to `<tocsin-bell>` from `/tocsin/ui/bell.js` as its `client`.
 */

import { States, Tocsin } from "/tocsin.js";
import { safeUrl } from "/tocsin/ui/safety.js";

const ACTIONS = [
  { action: "like", label: "Like", icon: "M20.84 4.61a5.5 5.5 0 0 0-7.78 0L12 5.67l-1.06-1.06a5.5 5.5 0 0 0-7.78 7.78l1.06 1.06L12 21.23l7.78-7.78 1.06-1.06a5.5 5.5 0 0 0 0-7.78z" },
  { action: "comment", label: "Comment", icon: "M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z" },
  { action: "message", label: "Message", icon: "M4 4h16a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2zM22 6l-10 7L2 6" },
  { action: "friend_request", label: "Add friend", icon: "M16 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2M8.5 3a4 4 0 1 1 0 8 4 4 0 0 1 0-8zM20 8v6M23 11h-6" },
];
const DONE = {
  like: "liked your post",
  comment: "commented on your post",
  message: "sent you a message",
  friend_request: "sent you a friend request",
  system_alert: "System alert sent",
  maintenance: "Maintenance notice sent to everyone",
};
const SESSION_KEY = "tocsin-demo-user"; // per window: two windows can be two people

const $ = (id) => document.getElementById(id);
let users = [];
let me = null;
let client = null;

async function api(path, body) {
  const response = await fetch(path, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path} answered ${response.status}`);
  return response.json();
}

function svg(path) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  node.setAttribute("viewBox", "0 0 24 24");
  node.setAttribute("aria-hidden", "true");
  const shape = document.createElementNS("http://www.w3.org/2000/svg", "path");
  shape.setAttribute("d", path);
  node.append(shape);
  return node;
}

function avatar(user, size) {
  const img = document.createElement("img");
  img.alt = "";
  img.width = img.height = size;
  const src = safeUrl(user.avatar);
  if (src) img.src = src;
  return img;
}

function showLogin() {
  $("login").hidden = false;
  $("app").hidden = true;
  $("session").hidden = true;
  const list = $("people");
  list.replaceChildren(
    ...users.map((user) => {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.user = user.id;
      button.append(avatar(user, 64), Object.assign(document.createElement("span"), { textContent: user.name }));
      button.addEventListener("click", () => signIn(user.id));
      const item = document.createElement("li");
      item.append(button);
      return item;
    }),
  );
  list.querySelector("button")?.focus();
}

async function signIn(id) {
  const { token, user } = await api("/demo/api/login", { user: id });
  me = user;
  sessionStorage.setItem(SESSION_KEY, user.id);
  let first = token;
  client?.disconnect();
  client = new Tocsin({
    url: location.origin,
    // The first token came with the login; later ones (reconnects, expiry) ask again.
    token: async () => {
      const current = first;
      first = null;
      return current ?? (await api("/demo/api/login", { user: id })).token;
    },
    // Windows of the same demo user share one connection; other users' windows do not.
    user: id,
  });
  client.on("state", showState);
  showState(client.state);
  $("bell").client = client; // the bell connects it
  showApp();
}

function showState(state) {
  const live = $("live");
  live.dataset.state = state;
  $("live-text").textContent = state === States.CONNECTED ? "Live" : state === States.CONNECTING ? "Connecting…" : "Offline";
}

function showApp() {
  $("login").hidden = true;
  $("app").hidden = false;
  $("session").hidden = false;
  $("me-avatar").replaceWith(Object.assign(avatar(me, 28), { id: "me-avatar" }));
  $("me-name").textContent = me.name;
  $("post-avatar").replaceWith(Object.assign(avatar(me, 40), { id: "post-avatar" }));
  $("post-author").textContent = me.name;
  $("target-name").textContent = me.name;
  $("actors").replaceChildren(
    ...users
      .filter((user) => user.id !== me.id)
      .map((user) => {
        const row = document.createElement("li");
        const who = document.createElement("span");
        who.className = "who";
        who.append(avatar(user, 32), Object.assign(document.createElement("span"), { textContent: user.name }));
        const buttons = document.createElement("span");
        buttons.className = "buttons";
        for (const { action, label, icon } of ACTIONS) {
          const button = document.createElement("button");
          button.type = "button";
          button.dataset.actor = user.id;
          button.dataset.action = action;
          button.title = `${user.name}: ${label.toLowerCase()}`;
          button.setAttribute("aria-label", `${user.name}: ${label}`);
          button.append(svg(icon), Object.assign(document.createElement("span"), { textContent: label }));
          button.addEventListener("click", () => act(button, { actor: user.id, target: me.id, action }, `${user.name} ${DONE[action]}`));
          buttons.append(button);
        }
        row.append(who, buttons);
        return row;
      }),
  );
}

async function act(button, body, done) {
  button.disabled = true;
  try {
    await api(body.actor ? "/demo/api/act" : "/demo/api/admin", body);
    status(done);
  } catch (err) {
    status(`That did not work: ${err.message}`);
  } finally {
    button.disabled = false;
  }
}

function status(text) {
  $("status").textContent = text;
}

for (const button of document.querySelectorAll("[data-admin]")) {
  button.addEventListener("click", () => {
    const action = button.dataset.admin;
    act(button, action === "system_alert" ? { action, target: me.id } : { action }, DONE[action]);
  });
}

$("switch").addEventListener("click", () => {
  client?.disconnect();
  client = null;
  $("bell").client = null;
  me = null;
  sessionStorage.removeItem(SESSION_KEY);
  status("");
  showLogin();
});

async function start() {
  try {
    users = await api("/demo/api/users");
  } catch (err) {
    $("failed").hidden = false;
    $("failed").textContent = `The demo API is not available (${err.message}). Run: tocsin serve --demo`;
    return;
  }
  const saved = sessionStorage.getItem(SESSION_KEY);
  if (saved && users.some((user) => user.id === saved)) await signIn(saved);
  else showLogin();
}

start();
