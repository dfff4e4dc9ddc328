"""Blueprint ``rallies``: organizer rally management (organize.py) and public pages and discovery (public.py)."""
