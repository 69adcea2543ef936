// LTI deep linking: posts the signed choice back to the LMS as soon as the page loads. Without script the
// page's button does the same.
(function () {
  "use strict";
  var form = document.getElementById("lti-return");
  if (form) form.submit();
})();
