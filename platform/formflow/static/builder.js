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

  // -- Saving the side panel without losing what the admin types ------------------------------
  // The panel saves a moment after a change, and the answer re-renders the whole builder. So:
  // an answer never overwrites what was typed while it was on its way (it only brings the new
  // revision; the newer typing is saved next); any other builder action (a card, the palette,
  // a drop, "Review and publish") first saves the panel's unsent changes, then runs; an error
  // answer (422, 409) is shown where it happened; an input the browser refuses says why beside
  // it. [data-builder] carries data-save-state = unsaved | saving | saved.
  var edits = 0;          // changes made in the panel so far
  var sentEdits = 0;      // ...of which the last panel save carried this many
  var flying = new Set(); // builder requests under way
  var waiting = null;     // an action held until the panel is saved

  function panelForm() { return document.querySelector("#builder .panel form[hx-post]"); }
  function inPanel(element) {
    var form = panelForm();
    return !!form && !!element && form.contains(element);
  }
  function unsaved() { return edits > sentEdits && !!panelForm(); }
  function panelSaving() {
    var form = panelForm();
    return Array.from(flying).some(function (request) { return request.elt === form; });
  }
  function toBuilder(detail) { return detail.target && detail.target.id === "builder"; }

  function showState() {
    var builder = root();
    if (!builder) return;
    builder.dataset.saveState = unsaved() ? "unsaved" : flying.size ? "saving" : "saved";
  }

  function edited(event) {
    if (!inPanel(event.target)) return;
    edits += 1;
    var note = refusal(event.target);
    if (note && event.target.checkValidity()) {
      note.remove();
      event.target.removeAttribute("aria-invalid");
    }
    showState();
  }
  function refusal(input) {
    var next = input.nextElementSibling;
    return next && next.matches("[data-refused-by-browser]") ? next : null;
  }
  document.addEventListener("input", edited);
  document.addEventListener("change", edited);
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-add-option]")) edited(event);
  });

  function savePanel() {
    var form = panelForm();
    if (form) window.htmx.trigger(form, "submit");
  }

  // The same control after a re-render: same tag and request, same hidden values.
  function twin(element) {
    var same = ["hx-get", "hx-post", "hx-vals"];
    var hidden = function (e) {
      return Array.from(e.querySelectorAll("input[type=hidden]")).map(function (i) {
        return i.name + "=" + i.value;
      }).join("&");
    };
    return Array.from(document.querySelectorAll("#builder " + element.tagName)).find(function (c) {
      return same.every(function (a) { return c.getAttribute(a) === element.getAttribute(a); }) &&
        hidden(c) === hidden(element);
    });
  }

  function runWaiting() {
    if (!waiting || panelSaving()) return;
    if (unsaved()) { savePanel(); return; }
    var action = waiting;
    waiting = null;
    if (action.navigate) { action.navigate(); return; }
    if (document.body.contains(action.elt)) {
      var values = action.detail.etc && action.detail.etc.values;
      if (values && "revision" in values) values.revision = revision();
      action.detail.issueRequest(true);
      return;
    }
    var again = twin(action.elt);
    if (!again) return; // what it acted on is gone
    if (again.tagName === "FORM") {
      action.values.forEach(function (pair) {
        var input = again.elements.namedItem(pair[0]);
        if (input && input.type !== "hidden") input.value = pair[1];
      });
      window.htmx.trigger(again, "submit");
    } else {
      again.click();
    }
  }

  document.addEventListener("htmx:confirm", function (event) {
    var detail = event.detail;
    if (!toBuilder(detail) || detail.elt === panelForm()) return;
    if (!unsaved() && !panelSaving()) return;
    event.preventDefault();
    waiting = {
      detail: detail,
      elt: detail.elt,
      values: detail.elt.tagName === "FORM" ? Array.from(new FormData(detail.elt)) : [],
    };
    if (!panelSaving()) savePanel();
  });

  // Links and plain forms that leave the page ("Review and publish", undo) save first, too.
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[href]");
    if (!link || !root() || link.hasAttribute("hx-get") || event.defaultPrevented) return;
    if (!unsaved() && !panelSaving()) return;
    event.preventDefault();
    waiting = { navigate: function () { window.location.href = link.href; } };
    if (!panelSaving()) savePanel();
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!root() || form.hasAttribute("hx-post") || (!unsaved() && !panelSaving())) return;
    event.preventDefault();
    waiting = { navigate: function () { form.submit(); } };
    if (!panelSaving()) savePanel();
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var detail = event.detail;
    if (!toBuilder(detail)) return;
    if (detail.elt === panelForm()) sentEdits = edits;
    flying.add({ xhr: detail.xhr, elt: detail.elt });
    showState();
  });

  function landed(event) {
    flying.forEach(function (request) {
      if (request.xhr === event.detail.xhr) flying.delete(request);
    });
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (event.type === "htmx:sendError" || event.detail.failed || status >= 400) {
      waiting = null; // the admin needs to see why before going on
    }
    showState();
    runWaiting();
  }
  document.addEventListener("htmx:afterRequest", landed);
  document.addEventListener("htmx:sendError", landed);

  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    if (!toBuilder(detail)) return;
    var status = detail.xhr.status;
    if (status === 409 || status === 422) {
      detail.shouldSwap = true; // the builder re-rendered with the problem beside its input
      detail.isError = false;
      return;
    }
    if (status === 200 && detail.requestConfig && detail.requestConfig.elt === panelForm() &&
        edits > sentEdits) {
      // Typed on while this was saved: keep the typing; take the new revision.
      detail.shouldSwap = false;
      var parsed = new DOMParser().parseFromString(detail.xhr.responseText, "text/html");
      var fresh = parsed.getElementById("revision");
      var current = document.getElementById("revision");
      if (fresh && current) current.value = fresh.value;
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "builder") {
      edits = 0;
      sentEdits = 0;
    }
    showState();
  });

  // An input the browser refuses (a key with a space, a colour that is not #rrggbb) would
  // stop every save of the panel in silence: say so beside it.
  document.addEventListener("htmx:validation:failed", function (event) {
    var input = event.target;
    if (!inPanel(input) || refusal(input)) return;
    input.setAttribute("aria-invalid", "true");
    input.insertAdjacentHTML("afterend", '<p class="field-error" data-refused-by-browser></p>');
    input.nextElementSibling.textContent = event.detail.message;
  });
  document.addEventListener("htmx:validation:halted", function (event) {
    if (event.target === panelForm()) {
      waiting = null;
      sentEdits = edits;
      showState();
    }
  });
})();
