// After a failed submit, put the cursor in the first field to fix; the error summary above the
// form links to each of them (templates/_macros.html). Pages work the same without this script.
document.addEventListener("DOMContentLoaded", () => {
  if (!document.querySelector(".error-summary")) return;
  const first = document.querySelector('.field [aria-invalid="true"]');
  if (first) first.focus();
});
