"""Tocsin's benchmark suite: Tocsin beside Node Socket.IO, python-socketio and bare Node `ws`.

Run it with `bench/run` (see bench/README.md); it is not part of the test suite.
"""
