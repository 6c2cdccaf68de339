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

// Confirmation dialogs: a link or button with data-dialog="ID" opens the
// <dialog id="ID"> on the page instead of following its href, which stays
// the plain confirmation page for browsers without JavaScript.
document.addEventListener("click", function (event) {
  var target = event.target;
  var opener = target && target.closest ? target.closest("[data-dialog]") : null;
  if (opener) {
    var dialog = document.getElementById(opener.getAttribute("data-dialog"));
    if (!dialog || typeof dialog.showModal !== "function") return;
    event.preventDefault();
    dialog.showModal();
    return;
  }
  // A click on the backdrop (the dialog element itself) closes it.
  if (target && target.tagName === "DIALOG" && target.open) {
    var r = target.getBoundingClientRect();
    if (event.clientX < r.left || event.clientX > r.right || event.clientY < r.top || event.clientY > r.bottom) {
      target.close();
    }
  }
});

// Choosing a type highlights its column in the permission table below.
document.addEventListener("change", function (event) {
  var input = event.target;
  if (input.name !== "type" || input.type !== "radio") return;
  var radios = Array.prototype.slice.call(document.querySelectorAll('.type-cards input[name="type"]'));
  var column = radios.indexOf(input) + 1;
  if (column < 1) return;
  document.querySelectorAll("table.matrix tr").forEach(function (row) {
    Array.prototype.forEach.call(row.children, function (cell, i) {
      cell.classList.toggle("highlight", i === column);
    });
  });
});
