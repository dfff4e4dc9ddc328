// Copy buttons: <button data-copy-target="input-id"> copies that input's value. The status element may carry
// translated messages (data-copied, data-copy-failed); English is the fallback.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    button.addEventListener("click", function () {
      var id = button.getAttribute("data-copy-target");
      var input = document.getElementById(id);
      var status = document.querySelector('[data-copy-status="' + id + '"]');
      if (!input) { return; }
      input.select();
      var done = function () { if (status) { status.textContent = status.dataset.copied || "Copied."; } };
      var failed = function () {
        if (status) { status.textContent = status.dataset.copyFailed || "Select the link and copy it."; }
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, failed);
      } else {
        try { document.execCommand("copy") ? done() : failed(); } catch (e) { failed(); }
      }
    });
  });
})();
