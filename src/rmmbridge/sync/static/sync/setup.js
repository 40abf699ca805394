// The mapping dialog of the sync setup page: open it when its body is swapped in, close it when a row was added.
document.body.addEventListener("htmx:afterSwap", function (e) {
  var dialog = document.getElementById("mapping-dialog");
  if (e.detail.target.id === "mapping-dialog-body" && !dialog.open) { dialog.showModal(); }
});
document.body.addEventListener("mapping-added", function () { document.getElementById("mapping-dialog").close(); });
