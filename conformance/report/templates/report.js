(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("#results > .r"));
  var form = document.getElementById("filters");
  var boxes = Array.prototype.slice.call(form.querySelectorAll("input[name=o]"));
  var area = document.getElementById("f-area");
  var search = document.getElementById("f-q");
  var shown = document.getElementById("f-shown");
  var counters = Array.prototype.slice.call(form.querySelectorAll("[data-count]"));

  function apply() {
    var on = {};
    boxes.forEach(function (box) { on[box.value] = box.checked; });
    var wanted = area.value;
    var query = search.value.trim().toLowerCase();
    var counts = {};
    var visible = 0;
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      var outcome = row.getAttribute("data-o");
      var match = (!wanted || row.getAttribute("data-a") === wanted) &&
        (!query || row.getAttribute("data-id").indexOf(query) !== -1);
      if (match) { counts[outcome] = (counts[outcome] || 0) + 1; }
      var show = match && on[outcome] !== false;
      if (show) { visible++; }
      if (row.hidden === show) { row.hidden = !show; }
    }
    counters.forEach(function (el) { el.textContent = String(counts[el.getAttribute("data-count")] || 0); });
    shown.textContent = visible + " of " + rows.length;
  }

  function fill(details) {
    var slots = details.querySelectorAll(".slot[data-ex]");
    for (var i = 0; i < slots.length; i++) {
      var slot = slots[i];
      if (slot.hasAttribute("data-filled")) { continue; }
      var source = document.getElementById("ex-" + slot.getAttribute("data-ex"));
      var body = source && source.querySelector(".xb");
      if (body) { slot.appendChild(body.cloneNode(true)); }
      slot.setAttribute("data-filled", "");
    }
  }

  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (!target) { return; }
    target.hidden = false;
    var details = target.tagName === "DETAILS" ? target : target.querySelector("details.ev");
    if (details) { details.open = true; fill(details); }
    target.scrollIntoView();
  }

  function copy(button) {
    var block = button.closest(".xb");
    var pre = block && block.querySelector(".curl");
    if (!pre) { return; }
    var done = function () { button.textContent = "copied"; };
    if (navigator.clipboard) {
      navigator.clipboard.writeText(pre.textContent).then(done, function () { select(pre); });
    } else { select(pre); }
  }

  function select(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  var timer = 0;
  boxes.forEach(function (box) { box.addEventListener("change", apply); });
  area.addEventListener("change", apply);
  search.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(apply, 120); });
  document.addEventListener("toggle", function (event) {
    var node = event.target;
    if (node.classList && node.classList.contains("ev") && node.open) { fill(node); }
  }, true);
  document.addEventListener("click", function (event) {
    var node = event.target;
    if (node.classList && node.classList.contains("copy")) { copy(node); }
  });
  window.addEventListener("hashchange", reveal);
  Array.prototype.forEach.call(document.querySelectorAll("details.ev[open]"), fill);
  form.hidden = false;
  apply();
  reveal();
}());
