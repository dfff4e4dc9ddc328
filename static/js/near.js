// "Use my location" on the near-me page: fills the hidden lat/lon fields and submits.
// Its messages come translated from the button's data-finding / data-failed (English here as the fallback).
(function () {
  "use strict";
  var form = document.getElementById("near-form");
  var button = document.getElementById("use-location");
  if (!form || !button || !("geolocation" in navigator)) { return; }
  var status = document.getElementById("location-status");
  button.hidden = false;
  button.addEventListener("click", function () {
    status.textContent = button.dataset.finding || "Finding your location…";
    navigator.geolocation.getCurrentPosition(function (pos) {
      document.getElementById("near-lat").value = pos.coords.latitude.toFixed(5);
      document.getElementById("near-lon").value = pos.coords.longitude.toFixed(5);
      form.elements.q.value = "";
      form.submit();
    }, function () {
      status.textContent = button.dataset.failed || "We could not get your location. Type a ZIP code or city instead.";
    }, {timeout: 10000, maximumAge: 600000});
  });
  // A typed ZIP or city replaces a previous location search.
  form.elements.q.addEventListener("input", function () {
    document.getElementById("near-lat").value = "";
    document.getElementById("near-lon").value = "";
  });
})();
