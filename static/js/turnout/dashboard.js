// Rally dashboard: draws the arrival curve (Chart.js) and refreshes tallies and the curve by polling
// the cheap /live endpoint. No inline script: settings come from data- attributes.
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root) { return; }
  var liveUrl = root.getAttribute("data-live-url");
  var curveUrl = root.getAttribute("data-curve-url");
  var interval = parseInt(root.getAttribute("data-interval"), 10) || 5000;
  // One volunteer's curve: the live rows are the whole rally's, so only the tallies refresh.
  var oneVolunteer = root.hasAttribute("data-volunteer");
  var canvas = document.getElementById("arrival-chart");
  var palette = ["#0b5cad", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#a6761d", "#666666"];
  var chart = null, minutes = [], doorIndex = {}, lastMinute = null, timer = null;

  function fmtNum(v) { return v === null || v === undefined ? "n/a" : Number(v).toLocaleString("en-US"); }
  function fmtPct(v) { return v === null || v === undefined ? "n/a" : Math.round(v * 100) + "%"; }

  function buildChart(data) {
    minutes = data.minutes.slice();
    var datasets = data.doors.map(function (d, i) {
      doorIndex[String(d.door_id)] = i;
      return { label: d.name, data: d.counts.slice(), borderColor: palette[i % palette.length],
               backgroundColor: palette[i % palette.length], borderWidth: 1.5, pointRadius: 0, tension: 0.2 };
    });
    datasets.push({ label: "All doors", data: data.total.slice(), borderColor: "#102a43", backgroundColor: "#102a43",
                    borderWidth: 3, pointRadius: 0, tension: 0.2 });
    lastMinute = minutes.length ? minutes[minutes.length - 1] : null;
    if (typeof Chart === "undefined" || !canvas) { return; }
    chart = new Chart(canvas, {
      type: "line",
      data: { labels: data.labels.slice(), datasets: datasets },
      options: { animation: false, responsive: true, maintainAspectRatio: false, interaction: { mode: "index", intersect: false },
                 scales: { x: { title: { display: true, text: "Local time (" + data.timezone + ")" } },
                           y: { beginAtZero: true, title: { display: true, text: "People per minute" } } } }
    });
  }

  // People inside over time (entries minus exits), next to the safe capacity; drawn once per page load.
  function buildOccupancy(data) {
    var box = document.getElementById("occupancy-chart");
    var occ = data.occupancy;
    if (!occ || !box || typeof Chart === "undefined") { return; }
    var datasets = [{ label: "Inside the venue", data: occ.venue, borderColor: "#4a3b8f", backgroundColor: "#4a3b8f",
                      borderWidth: 3, pointRadius: 0, tension: 0.2 }];
    if (occ.overflow_name) {
      datasets.push({ label: occ.overflow_name, data: occ.overflow, borderColor: "#0a5a8a", backgroundColor: "#0a5a8a",
                      borderWidth: 1.5, pointRadius: 0, tension: 0.2 });
    }
    if (occ.safe_capacity) {
      datasets.push({ label: "Safe capacity", data: occ.venue.map(function () { return occ.safe_capacity; }),
                      borderColor: "#b00020", borderDash: [6, 4], borderWidth: 2, pointRadius: 0 });
    }
    new Chart(box, {
      type: "line",
      data: { labels: data.labels.slice(), datasets: datasets },
      options: { animation: false, responsive: true, maintainAspectRatio: false, interaction: { mode: "index", intersect: false },
                 scales: { x: { title: { display: true, text: "Local time (" + data.timezone + ")" } },
                           y: { beginAtZero: true, title: { display: true, text: "People inside" } } } }
    });
  }

  function addMinute(iso, label) {
    // Fill any gap minute by minute so the x axis stays linear in time.
    var t = minutes.length ? Date.parse(minutes[minutes.length - 1]) : null;
    var target = Date.parse(iso);
    while (t !== null && t + 60000 < target) {
      t += 60000;
      pushMinute(new Date(t).toISOString(), new Date(t).toTimeString().slice(0, 5));
    }
    pushMinute(iso, label);
  }

  function pushMinute(iso, label) {
    minutes.push(iso);
    if (!chart) { return; }
    chart.data.labels.push(label);
    chart.data.datasets.forEach(function (ds) { ds.data.push(0); });
  }

  function applyArrivals(rows) {
    if (!chart) { return; }
    var totals = chart.data.datasets[chart.data.datasets.length - 1];
    var touched = {};
    rows.forEach(function (row) {
      var i = minutes.indexOf(row.minute);
      if (i === -1 && Date.parse(row.minute) > (minutes.length ? Date.parse(minutes[minutes.length - 1]) : 0)) {
        addMinute(row.minute, row.label);
        i = minutes.length - 1;
      }
      if (i === -1) { return; }
      var key = String(row.door_id);
      if (!(key in doorIndex)) { return; }
      chart.data.datasets[doorIndex[key]].data[i] = row.people;
      touched[i] = true;
    });
    Object.keys(touched).forEach(function (i) {
      var sum = 0;
      for (var d = 0; d < chart.data.datasets.length - 1; d++) { sum += chart.data.datasets[d].data[i] || 0; }
      totals.data[i] = sum;
    });
    chart.update("none");
    if (minutes.length) { lastMinute = minutes[minutes.length - 1]; }
  }

  function applyLive(data) {
    Object.keys(data.tally).forEach(function (key) {
      var el = root.querySelector('[data-tally="' + key + '"]');
      if (!el) { return; }
      if (key === "capacity_fill" && data.tally.capacity === null) { return; }
      el.textContent = el.getAttribute("data-format") === "pct" ? fmtPct(data.tally[key]) : fmtNum(data.tally[key]);
    });
    if (!oneVolunteer) { applyCurve(data); }
    updateStatus(data);
  }

  function applyCurve(data) {
    data.doors.forEach(function (d) {
      var row = root.querySelector('tr[data-door="' + d.door_id + '"]');
      if (!row) { return; }
      ["checked_in_people", "walkin_people"].forEach(function (f) {
        var cell = row.querySelector('[data-door-field="' + f + '"]');
        if (cell) { cell.textContent = fmtNum(d[f]); }
      });
    });
    applyArrivals(data.arrivals);
  }

  function updateStatus(data) {
    // Doors opening (or the rally ending) while the page is open changes how often to ask.
    interval = data.phase === "live" ? 5000 : 60000;
    var badge = document.querySelector("[data-phase]");
    if (badge) { badge.textContent = data.phase; }
    var note = root.querySelector("[data-updated]");
    if (note) { note.textContent = "(updated " + new Date().toLocaleTimeString() + ")"; }
  }

  function poll() {
    if (document.hidden) { schedule(); return; }
    // The volunteer's curve is not extended from the rally's rows: ask for as few of them as possible.
    var since = oneVolunteer ? new Date().toISOString() : lastMinute;
    var url = liveUrl + (since ? "?since=" + encodeURIComponent(since) : "");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { applyLive(data); } })
      .catch(function () { /* offline for a moment: try again on the next tick */ })
      .then(schedule);
  }

  function schedule() { clearTimeout(timer); timer = setTimeout(poll, interval); }

  fetch(curveUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (r) { return r.json(); })
    .then(function (data) { buildChart(data); buildOccupancy(data); schedule(); })
    .catch(schedule);
})();
