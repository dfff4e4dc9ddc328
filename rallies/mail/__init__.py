"""Shared mail infrastructure, no views: the outbox and its sender, addresses, calendar files, absolute links."""
