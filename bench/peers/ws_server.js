// The floor of the JS world: a bare `ws` server (plus a bare `http` SSE endpoint), one
// connection set per user, a broadcast encoded once and written to every socket.
'use strict';
const http = require('http');
const { WebSocketServer } = require('ws');
const { controlHandler, listenArgs } = require('./control');

const { port } = listenArgs();
const users = new Map(); // user -> Set of sockets (WebSocket or SSE response)
const sockets = new Set();

function addUser(user, sock) {
  let set = users.get(user);
  if (!set) users.set(user, (set = new Set()));
  set.add(sock);
}

function dropUser(user, sock) {
  const set = users.get(user);
  if (!set) return;
  set.delete(sock);
  if (set.size === 0) users.delete(user);
}

function sendTo(sock, text) {
  if (sock.sse) sock.write('data: ' + text + '\n\n');
  else sock.send(text);
}

const server = http.createServer(
  controlHandler({
    broadcast(msg) {
      const text = JSON.stringify(msg);
      const buf = Buffer.from(text);
      for (const sock of sockets) {
        if (sock.sse) sock.write('data: ' + text + '\n\n');
        else sock.send(buf, { binary: false });
      }
    },
    publish(user, msg) {
      const set = users.get(user);
      if (!set) return;
      const text = JSON.stringify(msg);
      for (const sock of set) sendTo(sock, text);
    },
    sse(req, res, url) {
      const user = url.searchParams.get('user') || 'anonymous';
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(': ready\n\n');
      res.sse = true;
      sockets.add(res);
      addUser(user, res);
      req.on('close', () => {
        sockets.delete(res);
        dropUser(user, res);
      });
    },
  }),
);
server.keepAliveTimeout = 60000;

const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws, req) => {
  const user = new URL(req.url, 'http://localhost').searchParams.get('user') || 'anonymous';
  sockets.add(ws);
  addUser(user, ws);
  ws.on('close', () => {
    sockets.delete(ws);
    dropUser(user, ws);
  });
  ws.on('error', () => {});
});

server.listen(port, '127.0.0.1', 4096);
