// Campaign map: fill the (empty) origin heat layer from the origins endpoint after the map is drawn,
// so the page never waits for the aggregate over every checked-in RSVP.
(function () {
  "use strict";
  var box = document.querySelector("[data-heat-var][data-origins-url]");
  if (!box) { return; }
  var status = document.querySelector("[data-origins-status]");
  var layer = window[box.getAttribute("data-heat-var")];
  // "loading" only while the request is out; without JavaScript the sentence simply ends.
  var say = function (text) { if (status) { status.textContent = " (" + text + ")"; } };
  say("loading");
  fetch(box.getAttribute("data-origins-url"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
    .then(function (data) {
      if (layer && layer.setLatLngs) { layer.setLatLngs(data.points); }
      box.setAttribute("data-origins-loaded", String(data.points.length));
      say(data.zips + " ZIP area" + (data.zips === 1 ? "" : "s") + ", " +
          Number(data.people).toLocaleString("en-US") + " people");
    })
    .catch(function () { say("could not be loaded"); });
})();
