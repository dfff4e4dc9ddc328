"""Domain logic as plain functions. Nothing here touches request, session or templates."""
