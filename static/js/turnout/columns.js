// The comparison table's optional columns: each checkbox shows or hides one, remembered on this device.
(function () {
  "use strict";
  var control = document.querySelector(".columns-control");
  var table = document.getElementById("comparison");
  if (!control || !table) { return; }
  var KEY = "rallies.turnout.hiddenColumns";
  var hidden = [];
  try { hidden = JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { hidden = []; }
  control.hidden = false;
  control.querySelectorAll("input[data-column]").forEach(function (box) {
    var column = box.getAttribute("data-column");
    var apply = function () { table.classList.toggle("hide-" + column, !box.checked); };
    box.checked = hidden.indexOf(column) === -1;
    apply();
    box.addEventListener("change", function () {
      apply();
      hidden = Array.prototype.map.call(control.querySelectorAll("input[data-column]:not(:checked)"),
        function (b) { return b.getAttribute("data-column"); });
      try { localStorage.setItem(KEY, JSON.stringify(hidden)); } catch (e) { /* private mode: this page only */ }
    });
  });
})();
