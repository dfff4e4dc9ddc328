// Copy buttons: <button data-copy-target="input-id"> copies that input's value.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    button.addEventListener("click", function () {
      var id = button.getAttribute("data-copy-target");
      var input = document.getElementById(id);
      var status = document.querySelector('[data-copy-status="' + id + '"]');
      if (!input) { return; }
      input.select();
      var done = function () { if (status) { status.textContent = "Copied."; } };
      var failed = function () { if (status) { status.textContent = "Select the link and copy it."; } };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, failed);
      } else {
        try { document.execCommand("copy") ? done() : failed(); } catch (e) { failed(); }
      }
    });
  });
})();
