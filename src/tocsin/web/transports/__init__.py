"""Transports that move protocol frames to browsers; they hold no protocol logic."""
