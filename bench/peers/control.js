// The HTTP control surface shared by the Node peers: the load generator asks a peer to
// broadcast a burst or to deliver one targeted message, the way an application backend would.
'use strict';

function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {});
      } catch (err) {
        reject(err);
      }
    });
    req.on('error', reject);
  });
}

// handlers: {broadcast(msgs), publish(user, msg), sse(req, res) (optional)}
function controlHandler(handlers) {
  return async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
      return;
    }
    if (url.pathname === '/sse' && handlers.sse) {
      handlers.sse(req, res, url);
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(404);
      res.end();
      return;
    }
    let body;
    try {
      body = await readJson(req);
    } catch (err) {
      res.writeHead(400);
      res.end(String(err));
      return;
    }
    if (url.pathname === '/broadcast') {
      // a burst of `count` messages, numbered from `start`, each built and encoded once
      for (let k = 0; k < body.count; k++) {
        handlers.broadcast({ type: 'notification', i: body.start + k, t: body.t, body: body.body });
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    } else if (url.pathname === '/publish') {
      handlers.publish(body.user, { type: 'notification', i: body.i, t: body.t, body: body.body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    } else {
      res.writeHead(404);
      res.end();
    }
  };
}

function listenArgs() {
  const port = Number(process.argv[2] || 0);
  if (!port) throw new Error('usage: node server.js PORT [--recovery]');
  return { port, recovery: process.argv.includes('--recovery') };
}

module.exports = { controlHandler, listenArgs };
