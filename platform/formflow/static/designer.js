/* The dashboard designer: the definition lives in the form's textarea as JSON; the settings
 * inputs, the grid (gridstack: drag and resize) and the side panel edit it, and every chart
 * on the grid shows its live data (POST to the preview endpoint). Saving posts the textarea;
 * the server checks the whole definition. */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    var form = document.querySelector("[data-designer]");
    if (!form) return;
    var catalog = JSON.parse(document.getElementById("designer-catalog").textContent);
    var words = JSON.parse(document.getElementById("designer-text").textContent);
    var textarea = form.querySelector("[data-definition]");
    var panel = form.querySelector("[data-panel]");
    var gridElement = form.querySelector("[data-grid]");
    var csrf = form.querySelector("input[name=csrf_token]").value;
    var lang = (document.documentElement.lang || "en").indexOf("zh") === 0 ? "zh-CN" : "en";
    var definition;
    try {
      definition = JSON.parse(textarea.value);
    } catch (e) {
      return; // not JSON (a refused save): the textarea is the only editor until fixed
    }
    definition.charts = definition.charts || [];
    var current = null; // the chart open in the panel
    var grid = null;

    function sync() {
      textarea.value = JSON.stringify(definition, null, 2);
    }

    function text(value) {
      if (!value) return "";
      if (typeof value === "string") return value;
      return value[lang] || value["zh-CN"] || value.en || "";
    }

    function setText(owner, key, lang2, value) {
      var old = owner[key];
      var obj = typeof old === "object" && old ? old : old ? { "zh-CN": old } : {};
      if (value) obj[lang2] = value;
      else delete obj[lang2];
      if (Object.keys(obj).length) owner[key] = obj;
      else delete owner[key];
    }

    /* -- dashboard settings ------------------------------------------------------------ */
    /* The server draws the settings in their saved state; the script reads them from the
     * page (once at start, then on each change), so an edit made before it started counts. */
    form.querySelectorAll("[data-setting]").forEach(function (input) {
      var key = input.getAttribute("data-setting");
      if (key.indexOf("title.") === 0) {
        var l = key.slice(6);
        var apply = function () {
          setText(definition, "title", l, input.value.trim());
        };
        var t = definition.title;
        var saved = typeof t === "string" ? (l === "zh-CN" ? t : "") : (t && t[l]) || "";
        if (input.value.trim() !== saved) apply();
        input.addEventListener("input", function () {
          apply();
          sync();
        });
      } else {
        if (input.value !== (definition[key] || "all")) definition[key] = input.value;
        input.addEventListener("change", function () {
          definition[key] = input.value;
          sync();
        });
      }
    });
    function shownFilters() {
      return catalog.filters.filter(function (f) {
        var b = form.querySelector('[data-filter="' + f + '"]');
        return b && b.checked;
      });
    }
    if (shownFilters().join() !== (definition.filters || []).join()) {
      definition.filters = shownFilters();
    }
    form.querySelectorAll("[data-filter]").forEach(function (box) {
      box.addEventListener("change", function () {
        definition.filters = shownFilters();
        sync();
      });
    });
    var phone = form.querySelector('[data-setting-flag="phone"]');
    function phoneFlag() {
      if (phone.checked) definition.phone = true;
      else delete definition.phone;
    }
    if (phone.checked !== !!definition.phone) phoneFlag();
    phone.addEventListener("change", function () {
      phoneFlag();
      sync();
    });
    function visibleTo() {
      var roles = [];
      form.querySelectorAll("[data-role]").forEach(function (b) {
        if (b.checked) roles.push(b.getAttribute("data-role"));
      });
      var users = form.querySelector("[data-users]").value.split(",").map(function (u) {
        return u.trim();
      }).filter(Boolean);
      var v = {};
      if (roles.length) v.roles = roles;
      if (users.length) v.users = users;
      if (Object.keys(v).length) definition.visible_to = v;
      else delete definition.visible_to;
      sync();
    }
    var visible = definition.visible_to || {};
    var ticked = [];
    form.querySelectorAll("[data-role]").forEach(function (b) {
      if (b.checked) ticked.push(b.getAttribute("data-role"));
      b.addEventListener("change", visibleTo);
    });
    var usersInput = form.querySelector("[data-users]");
    usersInput.addEventListener("input", visibleTo);
    if (
      ticked.join() !== (visible.roles || []).join() ||
      usersInput.value.replace(/\s/g, "") !== (visible.users || []).join(",")
    ) {
      visibleTo();
    }

    /* -- preview ----------------------------------------------------------------------- */
    function preview(chart, element) {
      clearTimeout(element._previewTimer);
      element._previewTimer = setTimeout(function () {
        fetch(form.getAttribute("data-preview"), {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
          body: JSON.stringify(chart),
          credentials: "same-origin",
        })
          .then(function (r) {
            return r.json();
          })
          .then(function (result) {
            result.title = result.title || text(chart.title) || chart.id;
            if (window.FormflowCharts) window.FormflowCharts.render(element, result);
          })
          .catch(function () {
            element.textContent = words.preview_error;
          });
      }, 250);
    }

    /* -- the grid ---------------------------------------------------------------------- */
    function cardFor(chart) {
      return gridElement.querySelector('[gs-id="' + chart.id + '"]');
    }

    function addCard(chart) {
      var layout = chart.layout || {};
      var item = document.createElement("div");
      item.className = "grid-stack-item";
      item.setAttribute("gs-id", chart.id);
      item.setAttribute("gs-x", layout.x || 0);
      item.setAttribute("gs-y", layout.y || 0);
      item.setAttribute("gs-w", layout.w || 6);
      item.setAttribute("gs-h", layout.h || 4);
      item.innerHTML =
        '<div class="grid-stack-item-content"><div class="dashboard-card">' +
        '<header class="chart-head"><h2 data-card-title></h2>' +
        '<span><button type="button" class="link" data-edit>' + words.edit + "</button> · " +
        '<button type="button" class="link danger" data-remove>' + words.remove + "</button></span></header>" +
        '<div class="chart" data-card-chart></div></div></div>';
      item.querySelector("[data-card-title]").textContent = text(chart.title) || chart.id;
      item.querySelector("[data-edit]").addEventListener("click", function () {
        open(chart);
      });
      item.querySelector("[data-remove]").addEventListener("click", function () {
        definition.charts = definition.charts.filter(function (c) {
          return c !== chart;
        });
        if (grid) grid.removeWidget(item);
        else item.remove();
        if (current === chart) panel.hidden = true;
        sync();
      });
      if (grid) grid.makeWidget(item);
      else gridElement.appendChild(item);
      preview(chart, item.querySelector("[data-card-chart]"));
      return item;
    }

    function layoutChanged(items) {
      items.forEach(function (it) {
        var chart = definition.charts.find(function (c) {
          return c.id === it.id;
        });
        if (chart) chart.layout = { x: it.x, y: it.y, w: it.w, h: it.h };
      });
      sync();
    }

    if (window.FormflowCharts) grid = window.FormflowCharts.grid(gridElement, { onChange: layoutChanged });
    definition.charts.forEach(addCard);

    /* -- the side panel ---------------------------------------------------------------- */
    function fieldsOf(chart) {
      var entry = chart.form ? catalog.forms[chart.form] : catalog.sources[chart.source];
      return entry ? entry.fields : [];
    }

    function options(select, items, chosen, blank) {
      select.innerHTML = "";
      if (blank) {
        var none = document.createElement("option");
        none.value = "";
        none.textContent = words.none;
        select.appendChild(none);
      }
      items.forEach(function (it) {
        var o = document.createElement("option");
        o.value = it[0];
        o.textContent = it[1];
        if (it[0] === chosen) o.selected = true;
        select.appendChild(o);
      });
    }

    function refill() {
      var chart = current;
      var fields = fieldsOf(chart).map(function (f) {
        return [f.key, f.label];
      });
      var dims = chart.dimensions || [];
      panel.querySelectorAll("[data-dimension]").forEach(function (row, i) {
        var d = dims[i] || {};
        options(row.querySelector("[data-dim-field]"), fields, d.field || "", true);
        row.querySelector("[data-dim-bucket]").value = d.bucket || "";
        row.querySelector("[data-dim-by]").checked = d.by === "department";
      });
      var sortables = (chart.measures || []).map(function (m) {
        return [m.key, m.key];
      }).concat(dims.map(function (d) {
        return [d.field, d.field];
      }));
      options(panel.querySelector('[data-chart-key="sort.by"]'), sortables, (chart.sort || {}).by || "", true);
      var dates = fieldsOf(chart).filter(function (f) {
        return f.kind === "date" || f.kind === "datetime";
      }).map(function (f) {
        return [f.key, f.label];
      });
      options(panel.querySelector('[data-chart-key="date_field"]'), dates, chart.date_field || "_created_at");
      renderMeasures(fields);
      renderFilters(fields);
    }

    function renderMeasures(fields) {
      var box = panel.querySelector("[data-measures]");
      box.innerHTML = "";
      (current.measures || []).forEach(function (m, i) {
        var row = document.createElement("div");
        row.className = "row-fields measure-row";
        row.innerHTML =
          '<input data-m="key" size="8" aria-label="key"><select data-m="agg"></select>' +
          '<select data-m="field"></select><input data-m="formula" placeholder="= a / b" size="10" aria-label="formula">' +
          '<input data-m="label" placeholder="label" size="10" aria-label="label">' +
          '<button type="button" class="link danger" data-m-remove aria-label="remove">×</button>';
        row.querySelector('[data-m="key"]').value = m.key;
        options(row.querySelector('[data-m="agg"]'), catalog.aggregates.map(function (a) {
          return [a, a];
        }), m.agg || "", true);
        options(row.querySelector('[data-m="field"]'), fields, m.field || "", true);
        row.querySelector('[data-m="formula"]').value = m.formula || "";
        row.querySelector('[data-m="label"]').value = text(m.label);
        row.addEventListener("change", function () {
          var next = { key: row.querySelector('[data-m="key"]').value.trim() || "m" + i };
          var formula = row.querySelector('[data-m="formula"]').value.trim();
          if (formula) next.formula = formula;
          else {
            next.agg = row.querySelector('[data-m="agg"]').value || "count";
            var f = row.querySelector('[data-m="field"]').value;
            if (f && next.agg !== "count") next.field = f;
          }
          var label = row.querySelector('[data-m="label"]').value.trim();
          if (label) {
            next.label = {};
            next.label[lang] = label;
          }
          current.measures[i] = next;
          changed();
        });
        row.querySelector("[data-m-remove]").addEventListener("click", function () {
          current.measures.splice(i, 1);
          refill();
          changed();
        });
        box.appendChild(row);
      });
    }

    function renderFilters(fields) {
      var box = panel.querySelector("[data-filters]");
      box.innerHTML = "";
      var ops = ["eq", "ne", "lt", "lte", "gt", "gte", "in", "contains", "between", "is_empty"];
      (current.filters || []).forEach(function (f, i) {
        var row = document.createElement("div");
        row.className = "row-fields filter-row";
        row.innerHTML =
          '<select data-f="field"></select><select data-f="op"></select>' +
          '<input data-f="value" size="12" aria-label="value">' +
          '<button type="button" class="link danger" data-f-remove aria-label="remove">×</button>';
        options(row.querySelector('[data-f="field"]'), fields, f.field);
        options(row.querySelector('[data-f="op"]'), ops.map(function (o) {
          return [o, o];
        }), f.op);
        row.querySelector('[data-f="value"]').value = f.value == null ? "" : f.value;
        row.addEventListener("change", function () {
          current.filters[i] = {
            field: row.querySelector('[data-f="field"]').value,
            op: row.querySelector('[data-f="op"]').value,
            value: row.querySelector('[data-f="value"]').value,
          };
          changed();
        });
        row.querySelector("[data-f-remove]").addEventListener("click", function () {
          current.filters.splice(i, 1);
          if (!current.filters.length) delete current.filters;
          refill();
          changed();
        });
        box.appendChild(row);
      });
    }

    function changed() {
      sync();
      var card = cardFor(current);
      if (card) {
        card.querySelector("[data-card-title]").textContent = text(current.title) || current.id;
        preview(current, card.querySelector("[data-card-chart]"));
      }
      preview(current, panel.querySelector("[data-preview-chart]"));
    }

    function read(key) {
      var input = panel.querySelector('[data-chart-key="' + key + '"]');
      return input.type === "checkbox" ? input.checked : input.value.trim();
    }

    function open(chart) {
      current = chart;
      panel.hidden = false;
      var sources = Object.keys(catalog.forms).map(function (name) {
        return ["form:" + name, catalog.forms[name].title + " (" + name + ")"];
      }).concat(Object.keys(catalog.sources).map(function (name) {
        return ["source:" + name, catalog.sources[name].title + " (" + name + ")"];
      }));
      options(panel.querySelector('[data-chart-key="data"]'), sources,
        chart.form ? "form:" + chart.form : "source:" + chart.source);
      panel.querySelector('[data-chart-key="id"]').value = chart.id;
      panel.querySelector('[data-chart-key="title.zh-CN"]').value =
        typeof chart.title === "string" ? chart.title : (chart.title || {})["zh-CN"] || "";
      panel.querySelector('[data-chart-key="title.en"]').value =
        typeof chart.title === "object" && chart.title ? chart.title.en || "" : "";
      panel.querySelector('[data-chart-key="type"]').value = chart.type;
      panel.querySelector('[data-chart-key="sort.descending"]').checked = !!(chart.sort || {}).descending;
      panel.querySelector('[data-chart-key="limit"]').value = chart.limit || "";
      panel.querySelector('[data-chart-key="compare"]').checked = !!chart.compare;
      panel.querySelector('[data-chart-key="target"]').value = chart.target == null ? "" : chart.target;
      refill();
      preview(chart, panel.querySelector("[data-preview-chart]"));
      panel.scrollIntoView({ block: "nearest" });
    }

    panel.addEventListener("change", function (event) {
      if (!current) return;
      var key = event.target.getAttribute("data-chart-key");
      var dimRow = event.target.closest("[data-dimension]");
      if (key === "id") {
        var id = read("id");
        if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(id) && !definition.charts.some(function (c) {
          return c !== current && c.id === id;
        })) {
          var card = cardFor(current);
          if (card) card.setAttribute("gs-id", id);
          if (card && card.gridstackNode) card.gridstackNode.id = id;
          current.id = id;
        }
      } else if (key === "title.zh-CN" || key === "title.en") {
        setText(current, "title", key.slice(6), read(key));
      } else if (key === "data") {
        var value = read("data");
        delete current.form;
        delete current.source;
        if (value.indexOf("form:") === 0) current.form = value.slice(5);
        else current.source = value.slice(7);
        current.dimensions = [];
        current.filters = undefined;
        delete current.filters;
        current.measures = [{ key: "n", agg: "count" }];
        refill();
      } else if (key === "type") {
        current.type = read("type");
      } else if (key === "sort.by" || key === "sort.descending") {
        var by = read("sort.by");
        if (by) current.sort = { by: by, descending: read("sort.descending") };
        else delete current.sort;
      } else if (key === "limit") {
        var n = parseInt(read("limit"), 10);
        if (n > 0) current.limit = n;
        else delete current.limit;
      } else if (key === "date_field") {
        var d = read("date_field");
        if (d && d !== "_created_at") current.date_field = d;
        else delete current.date_field;
      } else if (key === "compare") {
        if (read("compare")) current.compare = true;
        else delete current.compare;
      } else if (key === "target") {
        var t = read("target");
        if (t) current.target = t;
        else delete current.target;
      } else if (dimRow) {
        var dims = [];
        panel.querySelectorAll("[data-dimension]").forEach(function (row) {
          var field = row.querySelector("[data-dim-field]").value;
          if (!field) return;
          var dim = { field: field };
          var bucket = row.querySelector("[data-dim-bucket]").value;
          if (bucket) dim.bucket = bucket;
          if (row.querySelector("[data-dim-by]").checked) dim.by = "department";
          dims.push(dim);
        });
        current.dimensions = dims;
        refill();
      } else {
        return; // measure and filter rows handle their own changes
      }
      changed();
    });

    panel.querySelector("[data-add-measure]").addEventListener("click", function () {
      current.measures = current.measures || [];
      current.measures.push({ key: "m" + (current.measures.length + 1), agg: "count" });
      refill();
      changed();
    });
    panel.querySelector("[data-add-filter]").addEventListener("click", function () {
      var fields = fieldsOf(current);
      if (!fields.length) return;
      current.filters = current.filters || [];
      current.filters.push({ field: fields[0].key, op: "is_empty", value: "false" });
      refill();
      changed();
    });
    panel.querySelector("[data-close-panel]").addEventListener("click", function () {
      panel.hidden = true;
      current = null;
    });

    form.querySelector("[data-add-chart]").addEventListener("click", function () {
      var forms = Object.keys(catalog.forms);
      var n = definition.charts.length + 1;
      var id = "chart" + n;
      while (definition.charts.some(function (c) { return c.id === id; })) id = "chart" + ++n;
      var chart = { id: id, type: "number", measures: [{ key: "n", agg: "count" }] };
      if (forms.length) chart.form = forms[0];
      else chart.source = Object.keys(catalog.sources)[0];
      chart.title = {};
      chart.title[lang] = words.chart + " " + n;
      var bottom = definition.charts.reduce(function (y, c) {
        var l = c.layout || {};
        return Math.max(y, (l.y || 0) + (l.h || 4));
      }, 0);
      chart.layout = { x: 0, y: bottom, w: 4, h: 3 };
      definition.charts.push(chart);
      sync();
      addCard(chart);
      open(chart);
    });

    /* The textarea is also an editor: once typed in, it is what the save posts. */
    var typed = false;
    textarea.addEventListener("input", function () {
      typed = true;
    });
    form.addEventListener("submit", function () {
      if (!typed) sync();
    });
    sync();
    form.setAttribute("data-ready", ""); // for those who wait on the designer (tests)
  });
})();
