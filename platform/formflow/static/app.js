// Formflow's small progressive enhancements: everything works without them, they make a
// phone nicer. Subform rows, location capture, signature pad, file chips, filters, confirms,
// showing a password while typing it.
(function () {
  "use strict";

  function renumber(rows) {
    rows.querySelectorAll("[data-row]").forEach(function (row, i) {
      var number = row.querySelector("[data-row-number]");
      if (number) number.textContent = String(i + 1);
    });
  }

  function nextIndex(rows) {
    var max = -1;
    rows.querySelectorAll("[name]").forEach(function (el) {
      var m = el.name.match(/^[A-Za-z0-9_]+-(\d+)-/);
      if (m) max = Math.max(max, parseInt(m[1], 10));
    });
    return max + 1;
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("button, a");
    if (!target) return;
    if (target.matches("[data-add-row]")) {
      var box = target.closest("[data-subform]");
      var rows = box.querySelector("[data-rows]");
      var max = parseInt(box.dataset.max || "500", 10);
      if (rows.querySelectorAll("[data-row]").length >= max) return;
      var html = box.querySelector("template[data-row-template]").innerHTML;
      var index = nextIndex(rows);
      rows.insertAdjacentHTML("beforeend", html.replace(/__i__/g, String(index)));
      renumber(rows);
      var first = rows.lastElementChild.querySelector("input, select, textarea");
      if (first) first.focus();
    } else if (target.matches("[data-remove-row]")) {
      var row = target.closest("[data-row]");
      var list = row.parentElement;
      row.remove();
      renumber(list);
      list.closest("form").dispatchEvent(new Event("change", { bubbles: true }));
    } else if (target.matches("[data-remove-file]")) {
      target.closest(".file").remove();
    } else if (target.matches("[data-capture-location]")) {
      captureLocation(target.closest("[data-location]"));
    } else if (target.matches("[data-clear-signature]")) {
      var pad = target.closest("[data-signature]");
      if (pad._pad) pad._pad.clear();
      pad.querySelector("[data-drawn]").value = "";
    } else if (target.matches("[data-add-filter]")) {
      var filters = target.parentElement.querySelector("[data-filters]");
      var last = filters.querySelector("[data-filter-row]:last-child");
      var copy = last.cloneNode(true);
      copy.querySelectorAll("input").forEach(function (i) { i.value = ""; });
      copy.querySelectorAll("select").forEach(function (s) { s.selectedIndex = 0; });
      filters.appendChild(copy);
    } else if (target.matches("[data-remove-filter]")) {
      var rowF = target.closest("[data-filter-row]");
      if (rowF.parentElement.children.length > 1) rowF.remove();
      else rowF.querySelectorAll("input, select").forEach(function (i) { i.value = ""; });
    } else if (target.matches("[data-confirm]") && !window.confirm(target.dataset.confirm)) {
      event.preventDefault();
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-select-all]")) {
      var table = event.target.closest("table");
      table.querySelectorAll("input[name=ids]").forEach(function (box) {
        box.checked = event.target.checked;
      });
    }
  });

  function captureLocation(box) {
    var where = box.querySelector("[data-where]");
    if (!navigator.geolocation) { where.textContent = "—"; return; }
    where.textContent = "…";
    navigator.geolocation.getCurrentPosition(function (position) {
      var c = position.coords;
      function set(part, value) { box.querySelector('[data-part="' + part + '"]').value = value; }
      set("lat", c.latitude.toFixed(6));
      set("lng", c.longitude.toFixed(6));
      set("accuracy", Math.round(c.accuracy));
      where.textContent = c.latitude.toFixed(5) + ", " + c.longitude.toFixed(5) +
        " (±" + Math.round(c.accuracy) + " m)";
      box.closest("form").dispatchEvent(new Event("change", { bubbles: true }));
    }, function (error) {
      where.textContent = error.message;
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  function setUpSignatures(root) {
    if (!window.SignaturePad) return;
    root.querySelectorAll("[data-signature]").forEach(function (box) {
      if (box._pad) return;
      var canvas = box.querySelector("canvas");
      var ratio = Math.max(window.devicePixelRatio || 1, 1);
      canvas.width = canvas.offsetWidth * ratio;
      canvas.height = canvas.offsetHeight * ratio;
      canvas.getContext("2d").scale(ratio, ratio);
      box._pad = new window.SignaturePad(canvas, { backgroundColor: "rgb(255,255,255)" });
      box._pad.addEventListener("endStroke", function () {
        box.querySelector("[data-drawn]").value = box._pad.toDataURL("image/png");
      });
    });
  }

  // "Show" beside every password box (ASVS 2.1.12), so a long passphrase typed on a phone can
  // be checked. Without JavaScript the boxes stay ordinary password inputs. A shown password is
  // hidden again before its form is sent, so the browser's password manager still sees it.
  function setUpPasswordToggles(root) {
    var labels = document.body.dataset;
    root.querySelectorAll('input[type="password"]:not([data-toggle-ready])').forEach(function (input) {
      input.dataset.toggleReady = "";
      var wrap = document.createElement("span");
      wrap.className = "password-box";
      input.parentNode.insertBefore(wrap, input);
      wrap.appendChild(input);
      var button = document.createElement("button");
      button.type = "button";
      button.className = "password-toggle";
      button.textContent = labels.showPassword || "Show";
      button.setAttribute("aria-pressed", "false");
      if (input.id) button.setAttribute("aria-controls", input.id);
      button.addEventListener("click", function () {
        var show = input.type === "password";
        input.type = show ? "text" : "password";
        button.textContent = show ? labels.hidePassword || "Hide" : labels.showPassword || "Show";
        button.setAttribute("aria-pressed", String(show));
      });
      wrap.appendChild(button);
      if (input.form) input.form.addEventListener("submit", function () { input.type = "password"; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpSignatures(document);
    setUpPasswordToggles(document);
  });
})();
