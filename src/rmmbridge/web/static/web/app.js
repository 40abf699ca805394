// Small behaviours of our pages, as data attributes (the Content-Security-Policy allows no inline script):
//   data-open-dialog="ID"      a click opens <dialog id=ID> as a modal
//   data-close-dialog[="ID"]   a click closes that dialog, or the dialog the element is in
//   data-submit-on-change      a change of the field submits its form
document.addEventListener("click", function (event) {
  var opener = event.target.closest("[data-open-dialog]");
  if (opener) {
    var dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
    if (dialog) { dialog.showModal(); }
    return;
  }
  var closer = event.target.closest("[data-close-dialog]");
  if (closer) {
    var id = closer.getAttribute("data-close-dialog");
    var target = id ? document.getElementById(id) : closer.closest("dialog");
    if (target) { target.close(); }
  }
});
document.addEventListener("change", function (event) {
  var field = event.target.closest("[data-submit-on-change]");
  if (field && field.form) { field.form.submit(); }
});

/* rmmbridge page helpers: a search box above every long select marked data-search (works after htmx swaps). */
(function () {
  "use strict";
  function addSearch(select) {
    if (select.dataset.searchReady) { return; }
    select.dataset.searchReady = "1";
    var box = document.createElement("input");
    box.type = "search";
    box.className = "select-search";
    box.placeholder = "Search " + select.dataset.search + "…";
    box.setAttribute("aria-label", "Search " + select.dataset.search);
    box.addEventListener("input", function () {
      var words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
      Array.prototype.forEach.call(select.options, function (option) {
        var text = option.text.toLowerCase();
        var shown = !option.value || words.every(function (w) { return text.indexOf(w) >= 0; });
        option.hidden = !shown;
      });
    });
    select.parentNode.insertBefore(box, select);
  }
  function scan(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("select[data-search]"), addSearch);
  }
  document.addEventListener("DOMContentLoaded", function () { scan(document); });
  document.addEventListener("htmx:load", function (e) { scan(e.detail.elt); });
})();
