// The Copy button beside a read-only field (the direct return link): shown only when scripts
// run; without them the field is selectable, which is enough.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    const field = document.getElementById(button.dataset.copyTarget);
    const status = document.querySelector('[data-copy-status="' + button.dataset.copyTarget + '"]');
    if (!field) return;
    button.classList.remove("d-none");
    function say(text) {
      if (status) status.textContent = text;
    }
    button.addEventListener("click", function () {
      field.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(
          function () { say(button.dataset.copied); },
          function () { say(button.dataset.failed); }
        );
      } else {
        say(document.execCommand && document.execCommand("copy") ? button.dataset.copied : button.dataset.failed);
      }
    });
  });
})();
