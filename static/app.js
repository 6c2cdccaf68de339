// Switchboard's few lines of script. Every page works without them; they
// only make pages quicker to use and times easier to read.
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
    // A confirmation opens on Cancel, so that Enter never takes anything
    // away by accident (autofocus does the same where it is honoured).
    var cancel = dialog.querySelector("[data-cancel]");
    if (cancel) cancel.focus();
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

// Times a person must act on ("you can try again at …") are written by the
// server in UTC or the account's zone, with the zone named; the browser
// knows its own zone, so the time is shown again in it.
document.querySelectorAll("time[data-local-time]").forEach(function (el) {
  var when = new Date(el.getAttribute("datetime"));
  if (isNaN(when.getTime()) || typeof Intl === "undefined") return;
  var options = { hour: "numeric", minute: "2-digit", timeZoneName: "short" };
  if (when.toDateString() !== new Date().toDateString()) {
    options.month = "short";
    options.day = "numeric";
  }
  try {
    el.textContent = new Intl.DateTimeFormat(undefined, options).format(when);
  } catch (e) {
    // An old browser without these options keeps the server's text.
  }
});

// A form that did not validate opens with the focus on its error summary
// (autofocus does it where the browser honours it on a non-field).
(function () {
  var summary = document.querySelector("[data-error-summary]");
  if (summary && document.activeElement !== summary) summary.focus();
})();

// Copy buttons: data-copy names the element whose text goes to the
// clipboard. Without script the button stays hidden and the text is one
// selectable word.
document.querySelectorAll("[data-copy]").forEach(function (button) {
  var source = document.getElementById(button.getAttribute("data-copy"));
  if (!source || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var status = document.querySelector('[data-copy-status="' + button.getAttribute("data-copy") + '"]');
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      if (status) status.textContent = "Copied";
    }, function () {
      if (status) status.textContent = "Select the number to copy it";
    });
  });
});

// Escape closes the header's menu on a phone and gives the focus back to
// its button; without JavaScript the button closes it.
document.addEventListener("keydown", function (event) {
  if (event.key !== "Escape") return;
  var menu = document.querySelector(".navmenu[open]");
  if (!menu) return;
  menu.open = false;
  var summary = menu.querySelector("summary");
  if (summary) summary.focus();
});

// "Tick everyone on this page": the header checkbox (hidden without
// script, where the bulk form's "Everyone on this page" does the same).
document.querySelectorAll("[data-select-all]").forEach(function (all) {
  all.hidden = false;
  all.addEventListener("change", function () {
    document.querySelectorAll("input[data-bulk-id]").forEach(function (box) { box.checked = all.checked; });
  });
});

// A page following background work (an import under way) reloads itself
// every data-refresh seconds until the work is done; without script, the
// page says to reload it.
document.querySelectorAll("[data-refresh]").forEach(function (el) {
  var seconds = parseInt(el.getAttribute("data-refresh"), 10) || 2;
  setTimeout(function () { window.location.reload(); }, seconds * 1000);
});

// The wizard's rows of people: with script, "+ Add another person" adds a
// row at once (a copy of the last, emptied and numbered) instead of sending
// the form. Without script, or with one person (whose form the server turns
// into rows), or at the most rows allowed (the server says why), the
// button sends the form and the server adds the row.
document.addEventListener("click", function (event) {
  var add = event.target.closest ? event.target.closest("[data-add-person]") : null;
  var list = document.querySelector("[data-people-rows]");
  if (!add || !list) return;
  var rows = list.querySelectorAll("[data-person-row]");
  if (rows.length < 2 || rows.length >= parseInt(add.getAttribute("data-max"), 10)) return;
  event.preventDefault();
  var n = rows.length + 1;
  var row = rows[rows.length - 1].cloneNode(true);
  row.id = "person-" + n;
  row.querySelectorAll("[data-row-note], .field-error").forEach(function (el) { el.remove(); });
  row.querySelectorAll(".field-invalid").forEach(function (el) { el.classList.remove("field-invalid"); });
  row.querySelectorAll('input[name="first_name"], input[name="last_name"], input[name="email"]').forEach(function (input) {
    var label = row.querySelector('label[for="' + input.id + '"]');
    input.id = "f-" + input.name + "-" + n;
    input.value = "";
    ["aria-invalid", "aria-describedby", "autofocus"].forEach(function (a) { input.removeAttribute(a); });
    label.setAttribute("for", input.id);
    label.querySelector("[data-row-number]").textContent = ", person " + n;
  });
  row.querySelector("legend").textContent = "Person " + n;
  var remove = row.querySelector("[data-remove-person]");
  remove.value = "remove:" + n;
  remove.querySelector("[data-row-number]").textContent = " person " + n;
  list.appendChild(row);
  row.querySelector("input").focus();
});

// A chart that scrolls sideways on a small screen opens on its latest days.
document.querySelectorAll(".chart-scroll").forEach(function (el) {
  el.scrollLeft = el.scrollWidth;
});
