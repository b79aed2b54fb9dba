(function () {
  "use strict";
  var form = document.getElementById("filters");
  var differ = document.getElementById("f-differ");
  var failed = document.getElementById("f-failed");
  var area = document.getElementById("f-area");
  var search = document.getElementById("f-q");
  var shown = document.getElementById("f-shown");
  var groups = Array.prototype.slice.call(document.querySelectorAll("#matrix tbody.g"));
  var rows = [];
  groups.forEach(function (group) {
    Array.prototype.forEach.call(group.querySelectorAll("tr.row"), function (node) {
      var summary = node.querySelector("summary");
      rows.push({
        node: node,
        area: node.getAttribute("data-a"),
        differ: node.hasAttribute("data-d"),
        failed: node.hasAttribute("data-f"),
        text: (node.id + " " + (summary ? summary.title : "")).toLowerCase()
      });
    });
  });

  function apply() {
    var wanted = area.value;
    var query = search.value.trim().toLowerCase();
    var visible = 0;
    rows.forEach(function (row) {
      var show = (!differ.checked || row.differ) && (!failed.checked || row.failed) &&
        (!wanted || row.area === wanted) && (!query || row.text.indexOf(query) !== -1);
      if (show) { visible++; }
      if (row.node.hidden === show) { row.node.hidden = !show; }
    });
    groups.forEach(function (group) {
      var empty = !group.querySelector("tr.row:not([hidden])");
      if (group.hidden !== empty) { group.hidden = empty; }
    });
    shown.textContent = visible + " of " + rows.length;
  }

  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (!target) { return; }
    target.hidden = false;
    if (target.parentNode && target.parentNode.hidden) { target.parentNode.hidden = false; }
    var details = target.querySelector("details");
    if (details) { details.open = true; }
    target.scrollIntoView();
  }

  var timer = 0;
  differ.addEventListener("change", apply);
  failed.addEventListener("change", apply);
  area.addEventListener("change", apply);
  search.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(apply, 120); });
  window.addEventListener("hashchange", reveal);
  form.hidden = false;
  apply();
  reveal();
}());
