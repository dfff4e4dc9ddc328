"""Secrets: link secrets (stored hashed), secrets sealed at rest under the KEK, and re-sealing them."""
