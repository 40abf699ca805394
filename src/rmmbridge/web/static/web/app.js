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
