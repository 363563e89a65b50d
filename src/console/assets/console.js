// hsm-kms console: the little behaviour the pages need. Everything works without it except
// the live key states and the chosen-Region chips.
(function () {
  "use strict";
  var TRANSIENT = ["Creating", "Updating"];

  // Live key states: poll state.json while a key is Creating or Updating.
  function watch(el) {
    var started = el.getAttribute("data-state") || el.textContent.trim();
    function poll() {
      fetch(el.getAttribute("data-live"), { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.json(); })
        .then(function (j) {
          if (!j.KeyState) { setTimeout(poll, 2000); return; }
          el.textContent = j.label || j.KeyState;
          el.className = "state state-" + j.KeyState;
          el.setAttribute("data-state", j.KeyState);
          if (TRANSIENT.indexOf(j.KeyState) >= 0) { setTimeout(poll, 1000); }
          else if (el.hasAttribute("data-reload") && TRANSIENT.indexOf(started) >= 0) { location.reload(); }
        })
        .catch(function () { setTimeout(poll, 2000); });
    }
    setTimeout(poll, 700);
  }

  function chosenRegions() {
    var list = document.getElementById("chosen-regions");
    var boxes = document.querySelectorAll("#replica-regions input[type=checkbox]");
    if (!list || !boxes.length) { return; }
    list.innerHTML = "";
    boxes.forEach(function (b) {
      if (!b.checked || b.disabled) { return; }
      var li = document.createElement("li");
      li.setAttribute("data-region", b.value);
      li.appendChild(document.createTextNode((b.getAttribute("data-label") || "") + " "));
      var code = document.createElement("span");
      code.className = "rcode";
      code.textContent = b.value;
      li.appendChild(code);
      var x = document.createElement("button");
      x.type = "button";
      x.className = "chip-x";
      x.setAttribute("data-uncheck", b.id);
      x.setAttribute("aria-label", "Remove " + b.value);
      x.textContent = "\u00d7";
      li.appendChild(document.createTextNode(" "));
      li.appendChild(x);
      list.appendChild(li);
    });
  }

  document.addEventListener("change", function (e) {
    if (e.target.closest && e.target.closest("#replica-regions")) { chosenRegions(); }
  });

  document.addEventListener("click", function (e) {
    var t = e.target;
    if (!t.closest) { return; }
    var x = t.closest("[data-uncheck]");
    if (x) {
      var box = document.getElementById(x.getAttribute("data-uncheck"));
      if (box) { box.checked = false; }
      chosenRegions();
      return;
    }
    var add = t.closest("[data-add-row]");
    if (add) {
      var holder = document.getElementById(add.getAttribute("data-add-row"));
      var rows = holder.querySelectorAll(".tag-row");
      var row = rows[rows.length - 1].cloneNode(true);
      var n = rows.length;
      row.querySelectorAll("input").forEach(function (i) {
        i.value = "";
        i.id = i.name.replace("_", "-") + "-" + n;
      });
      row.querySelectorAll("label").forEach(function (l, k) {
        l.setAttribute("for", row.querySelectorAll("input")[k].id);
      });
      holder.appendChild(row);
      row.querySelector("input").focus();
      return;
    }
    var rm = t.closest(".remove-row");
    if (rm) {
      var r = rm.closest(".tag-row");
      if (r.parentNode.querySelectorAll(".tag-row").length > 1) { r.remove(); }
      else { r.querySelectorAll("input").forEach(function (i) { i.value = ""; }); }
      return;
    }
    var copy = t.closest("[data-copy]");
    if (copy && navigator.clipboard) {
      var src = document.getElementById(copy.getAttribute("data-copy"));
      navigator.clipboard.writeText(src.textContent);
      copy.textContent = "Copied";
      return;
    }
    // A click outside an open menu closes it.
    document.querySelectorAll("details.menu[open]").forEach(function (d) {
      if (!d.contains(t)) { d.removeAttribute("open"); }
    });
  });

  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") { return; }
    document.querySelectorAll("details.menu[open]").forEach(function (d) {
      d.removeAttribute("open");
      var s = d.querySelector("summary");
      if (s) { s.focus(); }
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live]").forEach(function (el) {
      if (TRANSIENT.indexOf(el.textContent.trim()) >= 0) { watch(el); }
    });
    chosenRegions();
  });
})();
