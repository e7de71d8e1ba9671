"""The HTTP API: publish (API keys) and inbox (user JWT)."""
