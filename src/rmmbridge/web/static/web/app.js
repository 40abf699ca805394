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
