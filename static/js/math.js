// Typesets the math that the server left as escaped TeX (see classroom/rendering.py).
// trust: false keeps \href, \url and \includegraphics inert; errors show the source in red.
(function () {
  "use strict";
  function typeset(root) {
    if (!window.katex) return;
    var nodes = (root || document).querySelectorAll(".math.inline, .math.display");
    nodes.forEach(function (el) {
      if (el.dataset.typeset) return;
      var tex = el.textContent;
      try {
        window.katex.render(tex, el, {
          displayMode: el.classList.contains("display"),
          throwOnError: false,
          trust: false,
          strict: "ignore",
          maxSize: 20,
          maxExpand: 500,
        });
      } catch (e) {
        el.textContent = tex;
      }
      el.dataset.typeset = "1";
      el.setAttribute("data-tex", tex);
    });
  }
  window.classroomTypeset = typeset;
  document.addEventListener("DOMContentLoaded", function () { typeset(document); });
})();
