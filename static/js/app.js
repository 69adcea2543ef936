// Small behaviours: live preview, adding steps, polling grading state, confirm buttons.
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = csrf ? csrf.content : "";

  // Live preview: the server renders with the same code that renders saved text.
  function attachPreview(textarea) {
    var target = document.getElementById(textarea.dataset.preview);
    if (!target) return;
    var timer = null;
    var last = null;
    function update() {
      var text = textarea.value;
      if (text === last) return;
      last = text;
      var body = new URLSearchParams();
      body.set("text", text);
      fetch("/preview", {
        method: "POST",
        headers: { "X-CSRFToken": csrfToken, "Content-Type": "application/x-www-form-urlencoded" },
        body: body.toString(),
        credentials: "same-origin",
      }).then(function (r) { return r.json(); }).then(function (data) {
        target.innerHTML = data.html || "";
        if (data.error) {
          var p = document.createElement("p");
          p.className = "muted";
          p.textContent = data.error;
          target.appendChild(p);
        }
        if (!text.trim()) {
          target.innerHTML = '<p class="muted">The preview appears here as you type.</p>';
        }
        if (window.classroomTypeset) window.classroomTypeset(target);
      }).catch(function () {
        target.innerHTML = '<p class="muted">Preview unavailable right now; your text is not affected.</p>';
      });
    }
    textarea.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(update, 300);
    });
    update();
  }

  // The step editor: add another empty step box.
  function attachAddStep(button) {
    button.addEventListener("click", function () {
      var list = document.getElementById(button.dataset.list);
      var items = list.querySelectorAll("li");
      var n = items.length;
      var li = document.createElement("li");
      var label = document.createElement("label");
      label.setAttribute("for", "steps-" + n);
      label.textContent = "Step " + (n + 1);
      var ta = document.createElement("textarea");
      ta.id = "steps-" + n;
      ta.name = "steps-" + n;
      ta.rows = 2;
      li.appendChild(label);
      li.appendChild(ta);
      list.appendChild(li);
      ta.focus();
    });
  }

  // Polls a JSON URL until grading has finished, then reloads to show the result.
  function attachPoll(el) {
    var url = el.dataset.poll;
    var tries = 0;
    function tick() {
      tries += 1;
      fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
        if (data.state && data.state !== el.dataset.state) {
          window.location.reload();
          return;
        }
        if (data.queued !== undefined) {
          var text = data.queued + " queued, " + data.running + " running, " + data.done + " done, " +
            data.failed + " failed";
          if (el.textContent !== text) el.textContent = text;
          if (data.queued + data.running === 0) return;
        }
        if (tries < 120) setTimeout(tick, Math.min(1000 + tries * 250, 5000));
      }).catch(function () { if (tries < 120) setTimeout(tick, 5000); });
    }
    setTimeout(tick, 1000);
  }

  function attachConfirm(form) {
    form.addEventListener("submit", function (e) {
      if (!window.confirm(form.dataset.confirm)) e.preventDefault();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("textarea[data-preview]").forEach(attachPreview);
    document.querySelectorAll("button[data-add-step]").forEach(attachAddStep);
    document.querySelectorAll("[data-poll]").forEach(attachPoll);
    document.querySelectorAll("form[data-confirm]").forEach(attachConfirm);
  });
})();
