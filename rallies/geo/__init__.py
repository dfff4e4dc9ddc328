"""Shared geography, no views: geocoding (online with an offline gazetteer), distances, folium map builders."""
