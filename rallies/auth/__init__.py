"""Organizer accounts, campaigns and teams: pages, forms and the services behind them."""
