"""Turnout: dashboards, comparisons, maps and exports (pages in views.py, JSON and CSV in api.py)."""
