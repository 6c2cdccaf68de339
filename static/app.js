// Switchboard's few lines of script. Every page works without them; they
// only make long lists quicker to use.
"use strict";
document.addEventListener("input", function (event) {
  var input = event.target;
  var selector = input.getAttribute && input.getAttribute("data-filter");
  if (!selector) return;
  var needle = input.value.trim().toLowerCase();
  document.querySelectorAll(selector).forEach(function (el) {
    el.hidden = needle !== "" && el.textContent.toLowerCase().indexOf(needle) === -1;
  });
});
