// Teach mode's chat: sends a message with fetch (the form works without this file too), then follows the
// model's reply as server-sent events while it is written. A reply still being written when the page
// loads (after a reload) is followed the same way: the server stores it as it arrives.
(function () {
  "use strict";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function messageItem(speaker, text) {
    var li = el("li", "msg " + speaker);
    li.appendChild(el("p", "who", speaker === "student" ? "You" : "The model"));
    var body = el("div", "body " + (speaker === "student" ? "rendered" : "streaming"), text);
    li.appendChild(body);
    return li;
  }

  function setup() {
    var chat = document.getElementById("chat");
    if (!chat) return;
    var form = document.getElementById("message-form");
    var textarea = document.getElementById("message-text");
    var button = document.getElementById("send-button");
    var errorBox = document.getElementById("chat-error");
    var answerBox = document.getElementById("model-answer");
    var answerValue = document.getElementById("model-answer-value");
    var stateBadge = document.getElementById("conv-state");
    var turnsLeft = document.getElementById("turns-left");

    function showError(message) {
      if (!errorBox) return;
      errorBox.textContent = message || "";
      errorBox.hidden = !message;
    }

    function follow(li, url) {
      var body = li.querySelector(".body");
      var source = new EventSource(url);
      if (button) button.disabled = true;
      source.addEventListener("text", function (e) {
        var data = JSON.parse(e.data);
        body.textContent = data.text;
        li.setAttribute("aria-busy", "true");
      });
      function finish(data) {
        source.close();
        li.removeAttribute("aria-busy");
        li.removeAttribute("data-follow");
        if (data.model_final_answer && answerValue) answerValue.textContent = data.model_final_answer;
        if (answerBox) answerBox.classList.toggle("ok", !!data.answer_correct);
        if (turnsLeft) turnsLeft.textContent = data.turns_left;
        if (stateBadge) { stateBadge.textContent = data.state_words; stateBadge.className = "badge conv-" + data.state; }
      }
      source.addEventListener("done", function (e) {
        var data = JSON.parse(e.data);
        finish(data);
        body.className = "body rendered";
        body.innerHTML = data.html;
        li.classList.remove("pending", "streaming");
        li.classList.add("done");
        if (window.classroomTypeset) window.classroomTypeset(body);
        if (data.state !== "open") { window.location.reload(); return; }  // the page says how it ended
        if (button) button.disabled = false;
        if (textarea) textarea.focus();
      });
      source.addEventListener("failed", function (e) {
        finish(JSON.parse(e.data));
        window.location.reload();  // the page offers to send the kept message again
      });
      source.onerror = function () {
        // The connection dropped (the server restarted, the network blinked): the reply is stored, so the
        // page shows whatever has been written when it loads again.
        source.close();
        setTimeout(function () { window.location.reload(); }, 2000);
      };
    }

    document.querySelectorAll("#chat li[data-follow]").forEach(function (li) { follow(li, li.dataset.follow); });

    if (!form || !window.fetch || !window.EventSource) return;
    textarea.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (button.disabled) return;
      var text = textarea.value;
      if (!text.trim()) { showError("Write a message first."); textarea.focus(); return; }
      showError("");
      button.disabled = true;
      fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "Accept": "application/json" },
      }).then(function (r) {
        return r.json().then(function (data) { return { ok: r.ok, data: data }; });
      }).then(function (res) {
        if (!res.ok) {  // refused: the text stays in the box
          showError((res.data.error && res.data.error.message) || "Your message could not be sent.");
          button.disabled = false;
          return;
        }
        textarea.value = "";
        var mine = messageItem("student", text);
        chat.appendChild(mine);
        if (window.classroomTypeset) window.classroomTypeset(mine);
        var reply = messageItem("tutee", "");
        chat.appendChild(reply);
        if (turnsLeft) turnsLeft.textContent = res.data.turns_left;
        reply.scrollIntoView({ block: "nearest" });
        follow(reply, res.data.events);
      }).catch(function () {
        showError("Your message could not be sent (no connection?). It is still in the box: try again.");
        button.disabled = false;
      });
    });
  }

  document.addEventListener("DOMContentLoaded", setup);
})();
