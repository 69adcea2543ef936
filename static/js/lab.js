// The lab's run page: the progress bar follows the run (progress.json) and the page reloads once it ends,
// so the results appear. No inline script: the CSP forbids it.
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box) return;
  var bar = box.querySelector("progress");
  var text = box.querySelector("[data-progress-text]");
  var state = box.querySelector("[data-progress-state]");
  function poll() {
    fetch(box.getAttribute("data-progress-url"), {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (!p) return;
        bar.max = p.total || 1;
        bar.value = p.completed;
        text.textContent = p.completed + " of " + p.total + " attempts";
        state.textContent = p.state;
        if (p.finished) { window.location.reload(); } else { window.setTimeout(poll, 1500); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
