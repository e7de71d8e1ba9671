"""Sans-I/O protocol code: wire framing and handshakes, tested without sockets."""
