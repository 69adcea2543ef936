// The grouped review queue without reloading: the same forms sent with fetch, and the keyboard.
// j/k move through the groups (and the critiques of an open group), 1/2/3 score the group (or, on one
// critique, that critique alone), x takes a critique out of its group, u undoes the last scoring.
(function () {
  "use strict";
  var UNDO_MS = 8000;
  var toast, toastMessage, toastButton, toastTimer = null, lastUndo = null, current = null;
  var csrf = document.querySelector('meta[name="csrf-token"]');

  function visible(el) { return !el.hidden && !el.closest("[hidden]"); }

  function targets() {
    var out = [];
    document.querySelectorAll(".review-group").forEach(function (group) {
      if (!visible(group)) return;
      out.push(group);
      var list = group.querySelector("details.members");
      if (list && list.open) {
        list.querySelectorAll(".review-member").forEach(function (m) { if (visible(m)) out.push(m); });
      }
    });
    return out;
  }

  function setCurrent(el) {
    if (current) current.classList.remove("current");
    current = el || null;
    if (current) {
      current.classList.add("current");
      current.focus({ preventScroll: true });
      current.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    var list = targets();
    if (!list.length) return;
    var i = list.indexOf(current);
    var next = i < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, i + step));
    setCurrent(list[next]);
  }

  function say(message, isError) {
    toastMessage.textContent = message;
    toast.classList.toggle("error", !!isError);
    toastButton.hidden = !!isError || !lastUndo;
    toast.hidden = false;
    if (toastTimer) clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toast.hidden = true; lastUndo = null; }, UNDO_MS);
  }

  function updateCounts(counts) {
    Object.keys(counts || {}).forEach(function (anchor) {
      var c = counts[anchor];
      document.querySelectorAll('[data-section-counts="' + anchor + '"]').forEach(function (box) {
        var text = box.querySelector(".counts");
        if (text) text.textContent = c.waiting + " waiting, " + c.done + " done";
        var bar = box.querySelector("progress");
        if (bar) { bar.max = Math.max(c.waiting + c.done, 1); bar.value = c.done; bar.textContent = c.done + " of " + (c.waiting + c.done); }
        box.dataset.waiting = c.waiting;
        box.dataset.done = c.done;
      });
    });
    var waiting = 0, done = 0;
    document.querySelectorAll("li[data-section-counts]").forEach(function (li) {
      waiting += Number(li.dataset.waiting || 0);
      done += Number(li.dataset.done || 0);
    });
    var total = document.querySelector(".review-total");
    if (total) {
      total.querySelector(".counts-total").textContent = waiting + " waiting, " + done + " done";
      var bar = total.querySelector("progress");
      if (bar) { bar.max = Math.max(waiting + done, 1); bar.value = done; }
    }
  }

  function groupCount(group) {
    var n = 0;
    group.querySelectorAll(".review-member").forEach(function (m) { if (!m.hidden) n += 1; });
    group.querySelectorAll(".count").forEach(function (c) { c.textContent = n; });
    return n;
  }

  // Hides what was scored; keeps every change so that undo can put it back.
  function applyScored(body) {
    var changes = [];
    var groups = [];
    body.scored.forEach(function (id) {
      var member = document.getElementById("grade-" + id);
      if (!member) return;
      member.hidden = true;
      changes.push(function () { member.hidden = false; });
      var group = member.closest(".review-group");
      if (group && groups.indexOf(group) < 0) groups.push(group);
      document.querySelectorAll('input[name="grade_ids"][value="' + id + '"]').forEach(function (input) {
        if (input.closest(".review-member")) return;  // the critique's own form goes with it
        var parent = input.parentNode, next = input.nextSibling;
        parent.removeChild(input);
        changes.push(function () { parent.insertBefore(input, next); });
      });
    });
    var nextTarget = null;
    groups.forEach(function (group) {
      group.querySelectorAll('input[name="leave_out"]:checked').forEach(function (box) {
        box.checked = false;
        box.closest(".review-member").classList.remove("taken-out");
      });
      if (groupCount(group) === 0) {
        var list = targets(), i = list.indexOf(group);
        group.hidden = true;
        changes.push(function () { group.hidden = false; });
        if (current && group.contains(current)) {
          nextTarget = list.slice(i + 1).filter(function (el) { return !group.contains(el); })[0] || null;
        }
      }
    });
    if (current && current.hidden) nextTarget = nextTarget || groups[0];
    if (nextTarget) setCurrent(nextTarget);
    updateCounts(body.counts);
    lastUndo = { url: body.undo_url, batch: body.batch, restore: function () {
      changes.reverse().forEach(function (f) { f(); });
      groups.forEach(groupCount);
    } };
    say(body.message + (body.scored.length ? " Undo with u." : ""), false);
    if (!body.scored.length) lastUndo = null;
  }

  function post(url, data, then) {
    data.set("csrf_token", csrf ? csrf.content : "");
    fetch(url, { method: "POST", body: data, credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) {
        if (!res.ok) { lastUndo = null; say(res.body.error || "That did not work; nothing was changed.", true); return; }
        then(res.body);
      })
      .catch(function () { lastUndo = null; say("The server could not be reached; nothing was changed. Try again.", true); });
  }

  function score(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) data.set(submitter.name, submitter.value);
    post(form.action, data, applyScored);
  }

  function undo() {
    if (!lastUndo) return;
    var pending = lastUndo;
    lastUndo = null;
    var data = new FormData();
    data.set("batch", pending.batch);
    post(pending.url, data, function (body) {
      pending.restore();
      updateCounts(body.counts);
      say(body.message, false);
      toastButton.hidden = true;
    });
  }

  function takeOut(member) {
    var box = member.querySelector('input[name="leave_out"]');
    if (!box) return;
    box.checked = !box.checked;
    member.classList.toggle("taken-out", box.checked);
  }

  function levelButton(el, n) {
    var group = el.closest(".review-group");
    var form = el.classList.contains("review-member") ? el.querySelector("form.group-score")
      : group && group.querySelector("form.group-score");
    if (!form) return null;
    return form.querySelectorAll('button[name="score"]')[n - 1] || null;
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!document.querySelector(".review-filters")) return;
    toast = document.getElementById("undo-toast");
    toastMessage = toast.querySelector(".undo-message");
    toastButton = toast.querySelector(".undo-button");
    toastButton.addEventListener("click", undo);

    document.addEventListener("submit", function (e) {
      var form = e.target;
      if (!form.classList || !form.classList.contains("group-score")) return;
      e.preventDefault();
      score(form, e.submitter);
    });
    document.addEventListener("change", function (e) {
      if (e.target.name === "leave_out") e.target.closest(".review-member").classList.toggle("taken-out", e.target.checked);
    });
    document.addEventListener("click", function (e) {
      var target = e.target.closest(".review-member, .review-group");
      if (target && !e.target.closest("a, button, input, summary, label")) setCurrent(target);
    });
    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      var t = e.target;
      if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
      var key = e.key;
      if (key === "j" || key === "k") { move(key === "j" ? 1 : -1); e.preventDefault(); return; }
      if (key === "u") { undo(); return; }
      if (!current || !visible(current)) return;
      if (key === "1" || key === "2" || key === "3") {
        var button = levelButton(current, Number(key));
        if (button) { score(button.form, button); e.preventDefault(); }
      } else if (key === "x") {
        if (current.classList.contains("review-member")) { takeOut(current); }
        else {
          var list = current.querySelector("details.members");
          if (list) { list.open = true; var first = list.querySelector(".review-member"); if (first) setCurrent(first); }
        }
        e.preventDefault();
      }
    });
  });
})();
