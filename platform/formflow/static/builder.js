// The form builder's drag and drop (SortableJS) and small panel helpers. The server owns the
// draft: every drop or change becomes one request that returns the re-rendered canvas.
(function () {
  "use strict";

  function root() { return document.querySelector("[data-builder]"); }
  function revision() { var r = document.getElementById("revision"); return r ? r.value : ""; }

  function post(url, values) {
    values.revision = revision();
    window.htmx.ajax("POST", url, { target: "#builder", swap: "innerHTML", values: values });
  }

  function setUp() {
    var builder = root();
    if (!builder || !window.Sortable) return;
    document.querySelectorAll("[data-palette]").forEach(function (list) {
      if (list._sortable) return;
      list._sortable = window.Sortable.create(list, {
        group: { name: "fields", pull: "clone", put: false }, sort: false, animation: 120,
      });
    });
    document.querySelectorAll("[data-list]").forEach(function (list) {
      if (list._sortable) return;
      list._sortable = window.Sortable.create(list, {
        group: { name: list.dataset.parent ? "rows-" + list.dataset.parent : "fields",
                 put: list.dataset.parent ? false : true },
        handle: ".handle", animation: 120, fallbackOnBody: true,
        onAdd: function (event) {
          var type = event.item.dataset.type;
          event.item.remove();
          post(builder.dataset.add, { type: type, index: event.newIndex,
                                      parent: list.dataset.parent || "" });
        },
        onUpdate: function (event) {
          post(builder.dataset.move, { field: event.item.dataset.key, index: event.newIndex,
                                       parent: event.item.dataset.parent || "" });
        },
      });
    });
    document.querySelectorAll("[data-options]").forEach(function (list) {
      if (list._sortable) return;
      list._sortable = window.Sortable.create(list, {
        handle: ".handle", animation: 120,
        onUpdate: function () { changed(list); },
      });
    });
    var frame = document.querySelector("[data-preview]");
    if (frame && frame.dataset.loaded) frame.contentWindow.location.reload();
    if (frame) frame.dataset.loaded = "1";
  }

  function changed(element) {
    var form = element.closest("form");
    if (form) form.dispatchEvent(new Event("change", { bubbles: true }));
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("button");
    if (!target) return;
    if (target.matches("[data-device]")) {
      var frame = document.querySelector("[data-preview-frame]");
      frame.classList.toggle("phone", target.dataset.device === "phone");
      frame.classList.toggle("desktop", target.dataset.device === "desktop");
      document.querySelectorAll("[data-device]").forEach(function (b) {
        b.classList.toggle("current", b === target);
      });
    } else if (target.matches("[data-add-option]")) {
      var panel = target.closest("details");
      var rows = panel.querySelector("[data-options]");
      rows.insertAdjacentHTML("beforeend", panel.querySelector("template[data-option-template]").innerHTML);
      rows.lastElementChild.querySelector("input").focus();
    } else if (target.matches("[data-remove-option]")) {
      var list = target.closest("[data-options]");
      target.closest("[data-option]").remove();
      changed(list);
    } else if (target.matches("[data-insert]")) {
      var box = lastFormula && document.body.contains(lastFormula)
        ? lastFormula : document.querySelector("[data-formula]");
      var text = target.dataset.insert;
      var start = box.selectionStart || box.value.length;
      box.value = box.value.slice(0, start) + text + box.value.slice(box.selectionEnd || start);
      box.focus();
      box.dispatchEvent(new Event("input", { bubbles: true }));
      changed(box);
    }
  });

  // Field and function chips insert into the formula box last used (a field's own formula,
  // or its default formula).
  var lastFormula = null;
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-formula]")) lastFormula = event.target;
  });

  document.addEventListener("DOMContentLoaded", setUp);
  document.addEventListener("htmx:afterSwap", setUp);
})();
