// Compose page: live recipient counts and SMS cost when the segment, channel or SMS text changes.
(function () {
  "use strict";
  var form = document.getElementById("compose");
  if (!form) { return; }
  var url = form.getAttribute("data-counts-url");
  var timer = null;
  function field(name) { return form.elements[name]; }
  function update() {
    var params = new URLSearchParams({
      segment: field("segment").value, channel: field("channel").value,
      sms: field("sms_body").value, es_sms: field("es_sms_body").value
    });
    fetch(url + "?" + params.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        form.querySelectorAll("[data-count]").forEach(function (el) {
          var key = el.getAttribute("data-count");
          if (key in data) { el.textContent = String(data[key]); }
        });
      })
      .catch(function () { /* counts stay as they were; the page still works */ });
  }
  function later() { clearTimeout(timer); timer = setTimeout(update, 300); }
  ["segment", "channel"].forEach(function (n) { field(n).addEventListener("change", update); });
  field("sms_body").addEventListener("input", later);
  field("es_sms_body").addEventListener("input", later);
  update();
})();
