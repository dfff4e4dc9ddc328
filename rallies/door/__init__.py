"""Door staff: door management for organizers, the scanner page (a PWA) and its JSON endpoints.

Endpoints keep the ``door.*`` names whichever module defines them.
"""
