// Node Socket.IO 4: `io.emit` for broadcasts, one room per user for targeted messages.
// With --recovery, connection state recovery keeps what a client missed while it was away.
'use strict';
const http = require('http');
const { Server } = require('socket.io');
const { controlHandler, listenArgs } = require('./control');

const { port, recovery } = listenArgs();
let io;
const server = http.createServer(
  controlHandler({
    broadcast(msg) {
      io.emit('n', msg);
    },
    publish(user, msg) {
      io.to(user).emit('n', msg);
    },
  }),
);
server.keepAliveTimeout = 60000;

const options = { transports: ['websocket'], serveClient: false, perMessageDeflate: false };
if (recovery) {
  options.connectionStateRecovery = { maxDisconnectionDuration: 120000, skipMiddlewares: true };
}
io = new Server(server, options);
io.on('connection', (socket) => {
  if (!socket.recovered) socket.join(String((socket.handshake.auth || {}).user || 'anonymous'));
});

server.listen(port, '127.0.0.1', 4096);
