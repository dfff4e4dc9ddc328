// Maps of many places drawn in the browser from a data attribute (no inline script, no server-side map):
// <div class="points-map" data-points='[{"lat":..,"lon":..,"title":"..","url":".."}]' data-origin='[lat, lon]'
//      data-tiles="https://.../{z}/{x}/{y}.png" data-attribution="..."></div>
// Titles are set as text (textContent), never as HTML.
(function () {
  "use strict";
  if (!window.L) { return; }
  document.querySelectorAll(".points-map").forEach(function (el) {
    var points = JSON.parse(el.dataset.points || "[]");
    var origin = el.dataset.origin ? JSON.parse(el.dataset.origin) : null;
    var map = L.map(el, {scrollWheelZoom: false});
    el._ralliesMap = map;  // static/js/map-outlines.js finds it here
    if (el.dataset.tiles) {
      L.tileLayer(el.dataset.tiles, {attribution: el.dataset.attribution || "", maxZoom: 19}).addTo(map);
    }
    L.control.scale().addTo(map);
    var bounds = [];
    points.forEach(function (p) {
      var link = document.createElement("a");
      link.href = p.url;
      link.textContent = p.title;
      var label = document.createElement("span");
      label.textContent = p.title;
      L.marker([p.lat, p.lon], {title: p.title, alt: p.title}).addTo(map).bindPopup(link).bindTooltip(label);
      bounds.push([p.lat, p.lon]);
    });
    if (origin) {
      L.circleMarker(origin, {radius: 6, color: "#102a43", fillOpacity: 0.8}).addTo(map);
      bounds.push(origin);
    }
    if (bounds.length) { map.fitBounds(bounds, {maxZoom: 13, padding: [24, 24]}); } else { map.setView([39.8, -98.6], 4); }
  });
})();
