// US state outlines under a map's markers, for when its tiles cannot load (no network at the venue, or
// no MAP_TILES_URL configured): the map still shows where things are. The outlines (us-atlas, about
// 110 KB) are fetched only then, from our own origin, and drawn in a pane below the tiles.
(function () {
  "use strict";
  if (!window.L) { return; }
  var base = document.currentScript.src.replace(/js\/map-outlines\.js.*$/, "");
  var shapes = null;

  function loadShapes() {
    if (shapes) { return shapes; }
    shapes = new Promise(function (resolve, reject) {
      var tag = document.createElement("script");
      tag.src = base + "vendor/topojson-client/topojson-client.min.js";
      tag.onload = resolve;
      tag.onerror = reject;
      document.head.appendChild(tag);
    }).then(function () {
      return fetch(base + "vendor/us-atlas/states-10m.json", {credentials: "same-origin"});
    }).then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (atlas) { return window.topojson.feature(atlas, atlas.objects.states); });
    return shapes;
  }

  function draw(map) {
    if (map._ralliesOutlines) { return; }
    map._ralliesOutlines = true;
    if (!map.getPane("outlines")) {
      map.createPane("outlines").style.zIndex = 150;  // under the tiles (200) and every marker
    }
    loadShapes().then(function (states) {
      L.geoJSON(states, {pane: "outlines", interactive: false,
                         style: {color: "#7b8794", weight: 1, fillColor: "#f4f6f8", fillOpacity: 1}}).addTo(map);
      map.getContainer().setAttribute("data-outlines", "drawn");
    }).catch(function () { map._ralliesOutlines = false; });
  }

  function attach(map) {
    var tiles = [];
    map.eachLayer(function (layer) { if (layer instanceof L.TileLayer) { tiles.push(layer); } });
    if (!tiles.length) { draw(map); return; }
    tiles.forEach(function (layer) {
      layer.once("tileerror", function () { draw(map); });
      // Tiles that failed before this script ran (it runs after the page's own scripts).
      var failed = Array.prototype.some.call(layer.getContainer() ? layer.getContainer().querySelectorAll("img") : [],
        function (img) { return img.complete && img.naturalWidth === 0; });
      if (failed) { draw(map); }
    });
  }

  window.RalliesOutlines = {attach: attach};
  // folium maps: the map object is the global named by the map element's id; points-map.js keeps its own.
  document.querySelectorAll(".folium-map, .points-map").forEach(function (el) {
    var map = el._ralliesMap || window[el.id];
    if (map && map instanceof L.Map) { attach(map); }
  });
})();
