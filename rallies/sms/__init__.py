"""Text messages: consent, the provider, STOP/HELP/START, and what a message costs."""
