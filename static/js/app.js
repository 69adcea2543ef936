// Small behaviours: live preview, the step editor, polling grading state, confirm buttons.
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
      if (textarea.classList.contains("code")) return;  // a program's line is code, not Markdown
      var text = textarea.value;
      if (text === last) return;
      last = text;
      if (!text.trim() && target.classList.contains("step-preview")) {
        target.innerHTML = "";  // an empty step shows no preview box at all
        return;
      }
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

  // How the final answer is read, as the student types (Moodle STACK's validation): "Read as 5/2",
  // typeset with KaTeX, or why it cannot be read and what to type instead.
  function attachAnswerReading(input) {
    var target = document.getElementById(input.id + "-reading");
    if (!target) return;
    var timer = null;
    var last = null;
    function show(data) {
      target.textContent = "";
      target.classList.toggle("unreadable", !data.readable && !!input.value.trim());
      if (data.readable && data.read_as) {
        target.appendChild(document.createTextNode("Read as "));
        var math = document.createElement("span");
        math.className = "math inline";
        math.textContent = data.read_as;
        target.appendChild(math);
        if (window.classroomTypeset) window.classroomTypeset(target);
      } else {
        target.textContent = data.note || "";
      }
    }
    function update() {
      var text = input.value;
      if (text === last) return;
      last = text;
      if (!text.trim()) { target.textContent = ""; target.classList.remove("unreadable"); return; }
      fetch(input.dataset.readAnswer + "?answer=" + encodeURIComponent(text), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) { if (input.value === text) show(data); })
        .catch(function () { target.textContent = "The answer cannot be read back right now; you can still submit."; });
    }
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(update, 350); });
    update();
  }

  // The step editor: each step a box with its own preview; add, remove, move up and down, and mark
  // the first wrong step. Boxes are renamed steps-0, steps-1, ... after every change, so the form
  // posts them in their new order; without JavaScript the plain boxes still work.
  function attachStepEditor(list) {
    var status = document.getElementById("step-status");
    var keyInput = document.getElementById(list.dataset.keyInput || "first_wrong_step");
    var addButton = document.querySelector('button[data-add-step][data-list="' + list.id + '"]');
    var template = list.querySelector("li.step-item");
    if (!template) return;
    template = template.cloneNode(true);

    function items() { return Array.prototype.slice.call(list.querySelectorAll(":scope > li.step-item")); }
    function say(text) { if (status) status.textContent = text; }

    function renumber() {
      var all = items();
      all.forEach(function (li, i) {
        var n = i + 1;
        var label = li.querySelector("label");
        var ta = li.querySelector("textarea");
        var preview = li.querySelector(".step-preview");
        label.textContent = "Step " + n;
        label.setAttribute("for", "steps-" + i);
        ta.id = "steps-" + i;
        ta.name = "steps-" + i;
        if (preview) { preview.id = "steps-" + i + "-preview"; ta.dataset.preview = preview.id; }
        li.querySelectorAll("button[data-step-action]").forEach(function (b) {
          var action = b.dataset.stepAction;
          var text = {
            key: "Mark step " + n + " as the first wrong step", up: "Move step " + n + " up",
            down: "Move step " + n + " down", remove: "Remove step " + n,
          }[action];
          b.setAttribute("aria-label", text);
          if (action === "up") b.setAttribute("aria-disabled", String(i === 0));
          if (action === "down") b.setAttribute("aria-disabled", String(i === all.length - 1));
        });
        var marked = li.classList.contains("key");
        li.querySelector('button[data-step-action="key"]').setAttribute("aria-pressed", String(marked));
        if (marked && keyInput && keyInput.value !== String(n)) keyInput.value = String(n);
      });
    }

    function markFromInput() {
      var n = keyInput ? parseInt(keyInput.value, 10) : NaN;
      items().forEach(function (li, i) { li.classList.toggle("key", i + 1 === n); });
      renumber();
    }

    function setUp(li) {
      li.querySelector(".step-tools").hidden = false;
      var ta = li.querySelector("textarea");
      if (ta && ta.dataset.preview && !ta.dataset.previewAttached) {
        ta.dataset.previewAttached = "1";
        attachPreview(ta);
      }
      if (ta && ta.classList.contains("code") && ta.dataset.codeEditor !== "1") {
        ta.dataset.codeEditor = "1";
        attachCodeEditor(ta);
      }
    }

    function newItem() {
      var li = template.cloneNode(true);
      li.classList.remove("key");
      var ta = li.querySelector("textarea");
      ta.value = "";
      ta.textContent = "";
      delete ta.dataset.previewAttached;
      delete ta.dataset.codeEditor;
      var preview = li.querySelector(".step-preview");
      if (preview) preview.innerHTML = "";
      li.querySelectorAll(".field-error").forEach(function (e) { e.remove(); });
      return li;
    }

    list.addEventListener("click", function (e) {
      var button = e.target.closest("button[data-step-action]");
      if (!button || !list.contains(button)) return;
      var li = button.closest("li.step-item");
      var all = items();
      var i = all.indexOf(li);
      var action = button.dataset.stepAction;
      if (action === "up" || action === "down") {
        var j = action === "up" ? i - 1 : i + 1;
        if (j < 0 || j >= all.length) return;
        if (action === "up") list.insertBefore(li, all[j]); else list.insertBefore(all[j], li);
        renumber();
        button.focus();
        say("Step " + (i + 1) + " is now step " + (j + 1) + ".");
      } else if (action === "remove") {
        if (all.length === 1) {
          li.querySelector("textarea").value = "";
          li.querySelector("textarea").dispatchEvent(new Event("input"));
          say("Step 1 cleared.");
          return;
        }
        var wasKey = li.classList.contains("key");
        var next = all[i + 1] || all[i - 1];
        li.remove();
        if (wasKey && keyInput) keyInput.value = "";
        renumber();
        next.querySelector("textarea").focus();
        say("Step " + (i + 1) + " removed; the steps after it moved up.");
      } else if (action === "key") {
        all.forEach(function (other) { other.classList.toggle("key", other === li); });
        if (keyInput) keyInput.value = String(i + 1);
        renumber();
        say("Step " + (i + 1) + " is marked as the first wrong step.");
      }
    });

    if (addButton) {
      addButton.addEventListener("click", function () {
        var li = newItem();
        list.appendChild(li);
        renumber();
        setUp(li);
        li.querySelector("textarea").focus();
        say("Step " + items().length + " added.");
      });
    }
    if (keyInput) keyInput.addEventListener("input", markFromInput);
    items().forEach(setUp);
    markFromInput();
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
          var text = data.text || (data.queued + " queued, " + data.running + " running, " + data.done + " done, " +
            data.failed + " failed");
          if (el.textContent !== text) el.textContent = text;
          if (data.queued + data.running === 0) {
            // A pilot that has just finished: show its grades and the next step.
            if (el.dataset.reloadWhenDone !== undefined) window.location.reload();
            return;
          }
        }
        if (tries < 120) setTimeout(tick, Math.min(1000 + tries * 250, 5000));
      }).catch(function () { if (tries < 120) setTimeout(tick, 5000); });
    }
    setTimeout(tick, 1000);
  }

  // A slow request (asking the model): say so on the button, and stop a second click sending it twice.
  function attachBusy(form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[data-busy-text]");
      if (!button) return;
      button.dataset.idleText = button.textContent;
      button.textContent = button.dataset.busyText;
      setTimeout(function () { button.disabled = true; }, 0);
    });
    window.addEventListener("pageshow", function () {
      var button = form.querySelector("button[data-busy-text]");
      if (button && button.dataset.idleText) { button.textContent = button.dataset.idleText; button.disabled = false; }
    });
  }

  function attachConfirm(form) {
    form.addEventListener("submit", function (e) {
      if (!window.confirm(form.dataset.confirm)) e.preventDefault();
    });
  }

  // A form sent back with errors: move focus to its summary (or, for a one-field form such as an upload,
  // to the field with its errors), so keyboard and screen-reader users start there.
  function focusErrors() {
    var target = document.getElementById("error-summary") || document.querySelector('[aria-invalid="true"]');
    if (target) target.focus();
  }

  // A code box (a correction to a program): Tab inserts four spaces, as an editor does. Esc first lets the
  // next Tab leave the box, and Shift+Tab always leaves, so keyboard users are never trapped.
  function attachCodeEditor(ta) {
    var release = false;
    ta.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { release = true; return; }
      if (e.key !== "Tab" || e.shiftKey || e.ctrlKey || e.altKey || e.metaKey || release) { release = false; return; }
      e.preventDefault();
      var start = ta.selectionStart, end = ta.selectionEnd, text = ta.value;
      ta.value = text.slice(0, start) + "    " + text.slice(end);
      ta.selectionStart = ta.selectionEnd = start + 4;
      ta.dispatchEvent(new Event("input", { bubbles: true }));
    });
    ta.addEventListener("blur", function () { release = false; });
  }

  // The problem form's "Written as": a program's step boxes are code boxes (monospace, Tab indents, no
  // Markdown preview), prose boxes are not. The server decides the same way when the form comes back.
  function attachFormatSelect(select) {
    var hint = document.getElementById("steps-hint");
    function apply() {
      var program = select.value !== "prose";
      document.querySelectorAll("#step-list textarea").forEach(function (ta) {
        ta.classList.toggle("code", program);
        ta.spellcheck = !program;
        if (program && !ta.dataset.codeEditor) { ta.dataset.codeEditor = "1"; attachCodeEditor(ta); }
        var preview = ta.dataset.preview && document.getElementById(ta.dataset.preview);
        if (preview) preview.hidden = program;
      });
      if (hint) hint.textContent = program ? hint.dataset.hintCode : hint.dataset.hintProse;
    }
    select.addEventListener("change", apply);
    apply();
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusErrors();
    document.querySelectorAll("select[data-format-select]").forEach(attachFormatSelect);
    document.querySelectorAll("textarea[data-code-editor]").forEach(function (ta) {
      if (ta.dataset.codeEditor !== "1") { ta.dataset.codeEditor = "1"; attachCodeEditor(ta); }
    });
    document.querySelectorAll("ol[data-step-editor]").forEach(attachStepEditor);
    document.querySelectorAll("textarea[data-preview]").forEach(function (ta) {
      if (!ta.dataset.previewAttached) { ta.dataset.previewAttached = "1"; attachPreview(ta); }
    });
    document.querySelectorAll("input[data-read-answer]").forEach(attachAnswerReading);
    document.querySelectorAll("[data-poll]").forEach(attachPoll);
    document.querySelectorAll("form[data-confirm]").forEach(attachConfirm);
    document.querySelectorAll("form[data-busy]").forEach(attachBusy);
  });
})();
