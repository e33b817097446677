// Dashboard charts: draws the server's ChartResult JSON with ECharts (bar, stacked bar, line,
// area, pie, funnel, gauge) or as plain HTML (number cards, rankings, pivot tables), and lays
// out the dashboard designer's grid with GridStack. Plain ES2019, no build step.
//
//   <div id="chart-by_stage" data-chart='{"id": "by_stage", "type": "bar", ...}'></div>
//   <button type="button" data-chart-png value="chart-by_stage">PNG</button>
//
// Charts found on DOMContentLoaded and in content htmx swaps in are drawn by themselves.
(function () {
  "use strict";

  // Calm colours that start from the app's accent blue and stay apart for the colour-blind.
  const PALETTE = ["#1f6feb", "#22a06b", "#f2a93b", "#8e6ad8", "#e5654b", "#2bb3c0",
    "#d45f97", "#7a8699", "#a3b745", "#5b8def"];
  const INK = "#1d2433";
  const MUTED = "#5b6577";
  const LINE = "#d9dee7";
  const SOFT_LINE = "#eef1f6";
  const OK = "#1b7f3b";
  const CANVAS_TYPES = ["bar", "stacked_bar", "line", "area", "pie", "funnel", "gauge"];
  // Below this width of the chart itself (a phone, or a narrow card on a desk) legends and axis
  // labels make room for the plot.
  const NARROW = 480;

  const drawn = new Set();

  function zh() { return (document.documentElement.lang || "").toLowerCase().startsWith("zh"); }
  function say(en, chinese) { return zh() ? chinese : en; }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({
      "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  // ----- Numbers ---------------------------------------------------------------------------

  function num(value) {
    if (value === null || value === undefined || value === "") return null;
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }

  function group(digits) { return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ","); }

  // Rounds a decimal (string or number) to `places`, half away from zero, on its digits rather
  // than through a float, so money shows every cent the server sent.
  function fixed(value, places) {
    const m = /^\s*([+-]?)(\d*)(?:\.(\d*))?\s*$/.exec(String(value));
    if (!m || (!m[2] && !m[3])) {
      const n = num(value);
      if (n === null) return null;
      const text = n.toFixed(places); // "1.5e3" becomes digits; beyond 1e21 it stays exponential
      return /e/i.test(text) ? n.toLocaleString("en-US", { maximumFractionDigits: places }) : fixed(text, places);
    }
    let whole = m[2] || "0";
    let part = m[3] || "";
    if (part.length > places) {
      const up = part.charCodeAt(places) >= 53; // the next digit is 5 or more
      const digits = (whole + part.slice(0, places)).split("");
      if (up) {
        let i = digits.length - 1;
        while (i >= 0 && digits[i] === "9") { digits[i] = "0"; i -= 1; }
        if (i < 0) digits.unshift("1"); else digits[i] = String(Number(digits[i]) + 1);
      }
      const all = digits.join("");
      whole = all.slice(0, all.length - places);
      part = all.slice(all.length - places);
    }
    part = part.padEnd(places, "0");
    whole = whole.replace(/^0+(?=\d)/, "");
    const sign = m[1] === "-" && /[1-9]/.test(whole + part) ? "-" : "";
    return sign + group(whole) + (places ? "." + part : "");
  }

  // The text a person reads for a value of a measure of this kind.
  function format(value, kind) {
    if (num(value) === null) return "—";
    if (kind === "money") return fixed(value, 2);
    if (kind === "integer") return fixed(value, 0);
    if (kind === "percent") return fixed((num(value) * 100).toFixed(4), 1) + "%";
    const text = fixed(value, 2);
    return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
  }

  // Short axis ticks: 12k, 1.5M (12万, 1.5亿 in Chinese).
  function compact(value, kind) {
    if (kind === "percent") return fixed((value * 100).toFixed(4), 0) + "%";
    const abs = Math.abs(value);
    const steps = zh() ? [[1e8, "亿"], [1e4, "万"]] : [[1e9, "B"], [1e6, "M"], [1e3, "k"]];
    for (const [size, unit] of steps) {
      if (abs >= size) return format(value / size, "number").replace(/(\.\d)\d$/, "$1") + unit;
    }
    return format(value, kind === "integer" ? "integer" : "number");
  }

  // ----- Reading a chart -------------------------------------------------------------------

  function read(element) {
    const script = Array.from(element.children).find(
      (child) => child.matches('script[type="application/json"]'));
    const text = script ? script.textContent : element.getAttribute("data-chart");
    if (!text || !text.trim()) return { source: element._chartSource, chart: element._chartData };
    try {
      return { source: text, chart: JSON.parse(text) };
    } catch (error) {
      return { source: text, chart: { error: say("This chart could not be read.", "无法读取此图表。") } };
    }
  }

  function rowsOf(chart) { return Array.isArray(chart.rows) ? chart.rows : []; }
  function measuresOf(chart) { return Array.isArray(chart.measures) ? chart.measures : []; }
  function dimensionsOf(chart) { return Array.isArray(chart.dimensions) ? chart.dimensions : []; }

  function labelOf(row, index) {
    const labels = row.labels || [];
    const keys = row.keys || [];
    const label = labels[index];
    if (label !== null && label !== undefined && label !== "") return String(label);
    const key = keys[index];
    return key === null || key === undefined || key === "" ? "—" : String(key);
  }

  function categoryOf(row, count) {
    if (!count) return say("All", "全部");
    const parts = [];
    for (let i = 0; i < count; i += 1) parts.push(labelOf(row, i));
    return parts.join(" / ");
  }

  function valueText(row, index, measures) {
    const m = measures[index] || {};
    return format((row.values || [])[index], m.kind);
  }

  // ----- Rendering -------------------------------------------------------------------------

  function isCanvas(chart) {
    if (chart.type === "gauge") return chart.target !== null && chart.target !== undefined;
    return CANVAS_TYPES.includes(chart.type);
  }

  function isEmpty(chart) {
    if (chart.type === "pivot") {
      return Boolean(chart.empty) || !chart.pivot || !(chart.pivot.rows || []).length;
    }
    return Boolean(chart.empty) || !rowsOf(chart).length;
  }

  function dispose(element) {
    if (element._chart) element._chart.dispose();
    element._chart = null;
  }

  // Replaces whatever the element shows with HTML content (a message, a card, a table).
  function showHtml(element, kind, node) {
    dispose(element);
    element.classList.remove("chart-canvas");
    element.classList.add("chart-html");
    element.removeAttribute("role");
    element.removeAttribute("aria-label");
    element.textContent = "";
    element.dataset.chartKind = kind;
    element.appendChild(node);
    pngButtons(element, false);
  }

  function message(element, text, className) {
    const box = document.createElement("p");
    box.className = className;
    box.textContent = text;
    showHtml(element, className, box);
  }

  /** Draws one ChartResult into element; chart defaults to the element's own JSON. */
  function render(element, chart) {
    if (!element) return;
    let source = null;
    if (chart === undefined) ({ source, chart } = read(element));
    else if (typeof chart === "string") {
      source = chart;
      chart = JSON.parse(chart);
    }
    const same = chart === element._chartData;
    element._chartData = chart;
    element._chartSource = source;
    element.classList.add("chart-view");
    drawn.add(element);

    if (!chart) return message(element, say("This chart could not be read.", "无法读取此图表。"), "chart-error");
    if (chart.error) return message(element, chart.error, "chart-error");
    if (isEmpty(chart)) return message(element, say("No data", "暂无数据"), "chart-empty");
    if (chart.type === "ranking") return showHtml(element, "ranking", ranking(chart));
    if (chart.type === "pivot") return showHtml(element, "pivot", pivot(chart));
    if (!isCanvas(chart)) return showHtml(element, "number", numberCard(chart));
    if (!window.echarts) {
      return message(element, say("Charts are not available.", "图表组件未加载。"), "chart-error");
    }
    drawCanvas(element, chart, same);
  }

  function drawCanvas(element, chart, same) {
    if (!element._chart) {
      element.textContent = "";
      element.classList.remove("chart-html");
    }
    element.classList.add("chart-canvas");
    element.dataset.chartKind = chart.type;
    element.setAttribute("role", "img");
    if (chart.title) element.setAttribute("aria-label", chart.title);
    if (!element._chart) {
      element._chart = window.echarts.init(element, null, { renderer: "canvas", locale: zh() ? "ZH" : "EN" });
      element._chart.on("click", (params) => drillFrom(element, params));
    }
    const width = element.clientWidth || window.innerWidth;
    element._chartSize = width + "x" + element.clientHeight;
    element._chart.resize();
    // A new chart replaces the old option whole; a redraw at a new size only updates it.
    element._chart.setOption(option(chart, width < NARROW), { notMerge: !same });
    pngButtons(element, true);
  }

  function drillFrom(element, params) {
    if (element.closest(".grid-stack")) return; // the designer moves charts, it does not drill
    const chart = element._chartData;
    const rows = rowsOf(chart || {});
    const data = params.data || {};
    let row = Number.isInteger(data.row) ? rows[data.row] : undefined;
    if (!row && chart.type === "stacked_bar" && dimensionsOf(chart).length === 2) {
      row = rows.find((r) => labelOf(r, 0) === params.name && labelOf(r, 1) === params.seriesName);
    }
    if (!row && params.dataIndex !== undefined) row = rows[params.dataIndex];
    if (row && row.drill) window.location.assign(row.drill);
  }

  function pngButtons(element, available) {
    if (!element.id) return;
    document.querySelectorAll("button[data-chart-png]").forEach((button) => {
      if ((button.value || button.getAttribute("data-chart-png")) === element.id) button.hidden = !available;
    });
  }

  // ----- ECharts options -------------------------------------------------------------------

  function base(chart) {
    const family = getComputedStyle(document.documentElement).fontFamily;
    return {
      color: PALETTE,
      backgroundColor: "transparent",
      textStyle: { fontFamily: family, color: INK },
      aria: { enabled: true, decal: { show: false } },
      animationDuration: 400,
      tooltip: {
        confine: true,
        backgroundColor: "#fff",
        borderColor: LINE,
        textStyle: { color: INK, fontSize: 13 },
        extraCssText: "box-shadow: 0 4px 14px rgba(29,36,51,.12); border-radius: 8px;",
      },
      legend: {
        show: false, type: "scroll", bottom: 0, left: "center", icon: "roundRect",
        itemWidth: 12, itemHeight: 8, textStyle: { color: MUTED },
        pageIconColor: MUTED, pageTextStyle: { color: MUTED },
      },
      title: { show: false, text: chart.title || "" },
    };
  }

  function option(chart, narrow) {
    if (chart.type === "pie") return pieOption(chart, narrow);
    if (chart.type === "funnel") return funnelOption(chart, narrow);
    if (chart.type === "gauge") return gaugeOption(chart, narrow);
    return axisOption(chart, narrow);
  }

  // Ink or white, whichever reads better on a colour of the palette.
  function readableOn(hex) {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.55 ? INK : "#fff";
  }

  // How wide a label draws at 12px: CJK characters take about twice a Latin letter.
  function textWidth(text) {
    let width = 0;
    for (const c of String(text)) width += c.charCodeAt(0) > 0x2e80 ? 12 : 7;
    return width;
  }

  function tooltipLines(params, total) {
    const list = [].concat(params).filter((p) => p.data && p.data.value !== null);
    if (!list.length) return "";
    const head = escapeHtml(list[0].axisValueLabel || list[0].name || "");
    const lines = list.map((p) => '<div class="ff-tip">' + p.marker + escapeHtml(p.seriesName) +
      '<b style="float:right;margin-left:16px">' + escapeHtml(p.data.text) + "</b></div>");
    if (total && list.length > 1) {
      const sum = list.reduce((acc, p) => acc + (p.data.value || 0), 0);
      lines.push('<div style="border-top:1px solid ' + LINE + ';margin-top:4px;padding-top:4px">' +
        escapeHtml(say("Total", "合计")) + '<b style="float:right;margin-left:16px">' +
        escapeHtml(format(sum, total)) + "</b></div>");
    }
    return '<div style="font-weight:600;margin-bottom:4px">' + head + "</div>" + lines.join("");
  }

  // bar, stacked_bar, line, area: categories along x, values up y.
  function axisOption(chart, narrow) {
    const type = chart.type;
    const dims = dimensionsOf(chart);
    const measures = measuresOf(chart);
    const rows = rowsOf(chart);
    const stacked = type === "stacked_bar";
    const seriesType = type === "line" || type === "area" ? "line" : "bar";
    // Two dimensions draw one series per second-dimension label along the first one — stacked
    // for stacked bars, a line each for trends; bars keep one bar per pair.
    const split = dims.length === 2 && type !== "bar";
    let categories;
    let series;
    if (split) {
      const xs = new Map();
      const groups = new Map();
      rows.forEach((row, i) => {
        const x = JSON.stringify((row.keys || [])[0]);
        const g = JSON.stringify((row.keys || [])[1]);
        if (!xs.has(x)) xs.set(x, { label: labelOf(row, 0), index: xs.size });
        if (!groups.has(g)) groups.set(g, { label: labelOf(row, 1), cells: {} });
        groups.get(g).cells[x] = i;
      });
      categories = Array.from(xs.values()).map((x) => x.label);
      series = Array.from(groups.values()).map((g) => ({
        name: g.label,
        data: Array.from(xs.keys()).map((x) => {
          const i = g.cells[x];
          if (i === undefined) return { value: null, text: "—" };
          return { value: num(rows[i].values[0]), text: valueText(rows[i], 0, measures), row: i };
        }),
        measure: 0,
      }));
    } else {
      categories = rows.map((row) => categoryOf(row, Math.min(dims.length, 2)));
      series = measures.map((m, mi) => ({
        name: m.label || m.key,
        data: rows.map((row, i) => ({ value: num((row.values || [])[mi]), text: valueText(row, mi, measures), row: i })),
        measure: mi,
      }));
    }

    // A measure of another kind than the first (a count beside an amount) gets its own axis.
    const firstKind = (measures[0] || {}).kind;
    const secondKind = !stacked && !split &&
      (measures.find((m) => m.kind !== firstKind) || {}).kind;
    const axisFor = (mi) => (secondKind && measures[mi].kind !== firstKind ? 1 : 0);
    const clickable = rows.some((row) => row.drill);

    const width = narrow ? NARROW * 0.8 : 900;
    const perCategory = width / Math.max(categories.length, 1);
    const longest = Math.max(0, ...categories.map(textWidth));
    const rotate = longest > perCategory - 8 ? (narrow ? 45 : 30) : 0;

    const o = base(chart);
    o.legend.show = series.length > 1;
    o.legend.data = series.map((s) => s.name);
    o.grid = {
      left: 8, right: secondKind ? 8 : 16, top: secondKind ? 30 : 16, bottom: o.legend.show ? 34 : 8,
      // grid.containLabel in ECharts 6 words: keep the axis labels inside the box.
      outerBoundsMode: "same", outerBoundsContain: "axisLabel",
    };
    o.tooltip.trigger = "axis";
    o.tooltip.axisPointer = { type: seriesType === "bar" ? "shadow" : "line" };
    o.tooltip.formatter = (params) => tooltipLines(params, stacked ? firstKind || "number" : null);
    o.xAxis = {
      type: "category",
      data: categories,
      boundaryGap: seriesType === "bar",
      axisLine: { lineStyle: { color: LINE } },
      axisTick: { show: false },
      axisLabel: {
        color: MUTED, rotate, hideOverlap: true,
        width: rotate ? (narrow ? 72 : 110) : Math.max(perCategory - 8, 40),
        overflow: "truncate", ellipsis: "…",
      },
    };
    const axis = (kind, index) => ({
      type: "value",
      name: secondKind ? measures.find((m, mi) => axisFor(mi) === index).label : "",
      nameTextStyle: { color: MUTED, align: index ? "right" : "left" },
      axisLabel: { color: MUTED, formatter: (v) => compact(v, kind) },
      // whole ticks for counts: a 0.2 step rounded to whole numbers reads "0 0 0 1 1 1"
      minInterval: kind === "integer" ? 1 : 0,
      splitLine: { show: index === 0, lineStyle: { color: SOFT_LINE } },
      max: kind === "percent" ? (v) => Math.max(v.max, 1) : null,
    });
    o.yAxis = secondKind ? [axis(firstKind, 0), axis(secondKind, 1)] : [axis(firstKind, 0)];
    o.series = series.map((s) => {
      const out = {
        name: s.name, type: seriesType, data: s.data, yAxisIndex: split ? 0 : axisFor(s.measure),
        cursor: clickable ? "pointer" : "default",
        emphasis: { focus: "series" },
      };
      if (seriesType === "bar") {
        out.barMaxWidth = 44;
        if (stacked) out.stack = "total";
        else out.itemStyle = { borderRadius: [4, 4, 0, 0] };
      } else {
        out.symbol = "circle";
        out.symbolSize = 6;
        out.showSymbol = categories.length <= 31;
        out.lineStyle = { width: 2 };
        if (type === "area") {
          out.smooth = true;
          out.areaStyle = { opacity: 0.16 };
        }
      }
      return out;
    });
    return o;
  }

  function pieOption(chart, narrow) {
    const measures = measuresOf(chart);
    const rows = rowsOf(chart);
    const count = Math.min(dimensionsOf(chart).length, 2);
    const o = base(chart);
    o.legend.show = true;
    if (narrow) o.legend.type = "plain"; // wraps onto a second line rather than paging
    o.tooltip.trigger = "item";
    o.tooltip.formatter = (p) => p.marker + escapeHtml(p.name) + '<b style="margin-left:12px">' +
      escapeHtml(p.data.text) + "</b> (" + p.percent + "%)";
    o.series = [{
      type: "pie",
      radius: narrow ? ["34%", "56%"] : ["40%", "66%"],
      center: ["50%", narrow ? "42%" : "45%"],
      avoidLabelOverlap: true,
      percentPrecision: 1,
      cursor: rows.some((row) => row.drill) ? "pointer" : "default",
      itemStyle: { borderColor: "#fff", borderWidth: 2, borderRadius: 4 },
      label: {
        color: INK, formatter: narrow ? "{d}%" : "{b}  {d}%",
        width: narrow ? 60 : 140, overflow: "truncate", ellipsis: "…",
      },
      labelLine: { length: 8, length2: 8 },
      data: rows.map((row, i) => ({
        name: categoryOf(row, count), value: num((row.values || [])[0]),
        text: valueText(row, 0, measures), row: i,
      })),
    }];
    return o;
  }

  function funnelOption(chart, narrow) {
    const measures = measuresOf(chart);
    const rows = rowsOf(chart);
    const count = Math.min(dimensionsOf(chart).length, 2);
    const values = rows.map((row) => num((row.values || [])[0]));
    // A step's conversion is only true of a funnel that narrows (what reached each stage); of
    // a count of what stands at each stage now it would read "3 · 300%" after a stage of 1.
    const narrows = values.every((v, i) => i === 0 || v === null || values[i - 1] === null ||
      v <= values[i - 1]);
    const conversion = (i) => {
      if (!narrows || i === 0 || !values[i - 1] || values[i] === null) return null;
      return format(values[i] / values[i - 1], "percent");
    };
    const o = base(chart);
    o.tooltip.trigger = "item";
    o.tooltip.formatter = (p) => {
      const step = conversion(p.dataIndex);
      return p.marker + escapeHtml(p.name) + '<b style="margin-left:12px">' + escapeHtml(p.data.text) +
        "</b>" + (step ? "<br>" + escapeHtml(say("Conversion from previous step: ", "较上一步转化：") + step) : "");
    };
    o.series = [{
      type: "funnel",
      sort: "none",
      left: narrow ? "4%" : "10%", width: narrow ? "92%" : "80%", top: 8, bottom: 8,
      min: 0, max: Math.max(0, ...values.filter((v) => v !== null)),
      minSize: "24%",
      gap: 3,
      cursor: rows.some((row) => row.drill) ? "pointer" : "default",
      itemStyle: { borderColor: "#fff", borderWidth: 1 },
      label: {
        position: "inside", lineHeight: 16,
        formatter: (p) => {
          const step = conversion(p.dataIndex);
          return p.name + "\n" + p.data.text + (step ? " · " + step : "");
        },
        overflow: "truncate", ellipsis: "…",
      },
      emphasis: { label: { fontWeight: "bold" } },
      data: rows.map((row, i) => ({
        name: categoryOf(row, count), value: values[i], text: valueText(row, 0, measures), row: i,
        label: { color: readableOn(PALETTE[i % PALETTE.length]) },
      })),
    }];
    return o;
  }

  // The first measure against the target, on a 0–150 % dial.
  function gaugeOption(chart, narrow) {
    const measures = measuresOf(chart);
    const row = rowsOf(chart)[0];
    const kind = (measures[0] || {}).kind;
    const value = num((row.values || [])[0]) || 0;
    const target = num(chart.target);
    const ratio = target ? value / target : 0;
    const percent = format(ratio, "percent");
    const o = base(chart);
    o.series = [{
      type: "gauge",
      min: 0, max: 150, splitNumber: 3,
      startAngle: 200, endAngle: -20,
      radius: narrow ? "88%" : "92%", center: ["50%", "60%"],
      cursor: row.drill ? "pointer" : "default",
      progress: { show: true, width: 14, roundCap: true, itemStyle: { color: ratio >= 1 ? OK : PALETTE[0] } },
      axisLine: { roundCap: true, lineStyle: { width: 14, color: [[1, SOFT_LINE]] } },
      axisTick: { show: false },
      splitLine: { show: false },
      axisLabel: { distance: 22, color: MUTED, fontSize: 11, formatter: (v) => v + "%" },
      pointer: { show: false },
      anchor: { show: false },
      title: { offsetCenter: [0, "42%"], color: MUTED, fontSize: 12 },
      detail: {
        offsetCenter: [0, "2%"], valueAnimation: false,
        formatter: () => "{pct|" + percent + "}\n{val|" + format(row.values[0], kind) + "}",
        rich: {
          pct: { fontSize: narrow ? 26 : 30, fontWeight: 700, color: INK, lineHeight: 36 },
          val: { fontSize: 13, color: MUTED, lineHeight: 20 },
        },
      },
      data: [{
        value: Math.min(ratio * 100, 150),
        name: say("Target ", "目标 ") + format(chart.target, kind),
        row: 0,
      }],
    }];
    return o;
  }

  // ----- HTML kinds ------------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // A big number of the first measure, and how it moved against the compared period.
  function numberCard(chart) {
    const measures = measuresOf(chart);
    const row = rowsOf(chart)[0];
    const kind = (measures[0] || {}).kind;
    const card = el("div", "number-card");
    const main = row.drill ? el("a", "number-main") : el("div", "number-main");
    if (row.drill) main.href = row.drill;
    main.appendChild(el("span", "number-value", format(row.values[0], kind)));
    main.appendChild(el("span", "number-label", (measures[0] || {}).label || ""));
    card.appendChild(main);

    const compare = chart.compare;
    if (compare && compare.values) {
      const now = num(row.values[0]);
      const before = num(compare.values[0]);
      const label = compare.label || say("previous period", "上期");
      if (!before || now === null) {
        card.appendChild(el("span", "number-delta", label + (zh() ? "：" : ": ") + format(compare.values[0], kind)));
      } else {
        const change = (now - before) / Math.abs(before);
        const arrow = change > 0 ? "▲" : change < 0 ? "▼" : "=";
        const amount = arrow + " " + format(Math.abs(change), "percent");
        const delta = el("span", "number-delta " + (change > 0 ? "up" : change < 0 ? "down" : "flat"),
          zh() ? "较" + label + " " + amount : amount + " vs " + label);
        card.appendChild(delta);
      }
    }
    measures.slice(1).forEach((m, i) => {
      card.appendChild(el("span", "number-more", (m.label || m.key) + (zh() ? "：" : ": ") +
        format(row.values[i + 1], m.kind)));
    });
    return card;
  }

  // An ordered list of the rows, each with a bar in proportion to the largest value.
  function ranking(chart) {
    const measures = measuresOf(chart);
    const rows = rowsOf(chart);
    const count = Math.min(dimensionsOf(chart).length, 2);
    const top = Math.max(0, ...rows.map((row) => num((row.values || [])[0]) || 0));
    const list = el("ol", "ranking");
    rows.forEach((row, i) => {
      const item = el("li", i < 3 ? "medal medal-" + (i + 1) : "");
      item.appendChild(el("span", "ranking-rank", String(i + 1)));
      const name = row.drill ? el("a", "ranking-label", categoryOf(row, count)) : el("span", "ranking-label", categoryOf(row, count));
      if (row.drill) name.href = row.drill;
      item.appendChild(name);
      const extra = measures.slice(1).map((m, mi) => format(row.values[mi + 1], m.kind));
      item.appendChild(el("span", "ranking-value", [valueText(row, 0, measures)].concat(extra).join(" · ")));
      const bar = el("span", "ranking-bar");
      const fill = el("span");
      const value = num((row.values || [])[0]) || 0;
      fill.style.width = (top > 0 && value > 0 ? (value / top) * 100 : 0).toFixed(1) + "%";
      bar.appendChild(fill);
      item.appendChild(bar);
      list.appendChild(item);
    });
    return list;
  }

  // Rows × columns of the first dimension by the second, with totals.
  function pivot(chart) {
    const measures = measuresOf(chart);
    const dims = dimensionsOf(chart);
    const p = chart.pivot;
    const columns = p.columns || [];
    const total = say("Total", "合计");
    const cellText = (values) => (values ? measures.map((m, i) => format(values[i], m.kind)).join(" · ") : "");
    const scroll = el("div", "pivot-scroll");
    scroll.tabIndex = 0; // a keyboard can scroll a wide table
    const table = el("table", "pivot");
    const head = el("thead");
    const top = el("tr");
    const corner = el("th", "pivot-corner", (dims[0] || {}).label || "");
    corner.scope = "col";
    top.appendChild(corner);
    if (dims[1] && columns.length) {
      corner.rowSpan = 2;
      const across = el("th", "pivot-across", dims[1].label || "");
      across.colSpan = columns.length;
      across.scope = "colgroup";
      top.appendChild(across);
    } else {
      columns.forEach((c) => top.appendChild(el("th", "", c.label)));
    }
    const totalHead = el("th", "total", total);
    totalHead.scope = "col";
    if (dims[1] && columns.length) totalHead.rowSpan = 2;
    top.appendChild(totalHead);
    head.appendChild(top);
    if (dims[1] && columns.length) {
      const second = el("tr");
      columns.forEach((c) => {
        const th = el("th", "", c.label);
        th.scope = "col";
        second.appendChild(th);
      });
      head.appendChild(second);
    }
    table.appendChild(head);

    const body = el("tbody");
    (p.rows || []).forEach((r) => {
      const tr = el("tr");
      const th = el("th", "", r.label);
      th.scope = "row";
      tr.appendChild(th);
      const cells = (p.cells || {})[r.key] || {};
      columns.forEach((c) => tr.appendChild(el("td", "", cellText(cells[c.key]))));
      tr.appendChild(el("td", "total", cellText((p.row_totals || {})[r.key])));
      body.appendChild(tr);
    });
    table.appendChild(body);

    const foot = el("tfoot");
    const tr = el("tr");
    const th = el("th", "", total);
    th.scope = "row";
    tr.appendChild(th);
    columns.forEach((c) => tr.appendChild(el("td", "", cellText((p.column_totals || {})[c.key]))));
    tr.appendChild(el("td", "total grand", cellText(p.grand)));
    foot.appendChild(tr);
    table.appendChild(foot);
    scroll.appendChild(table);
    return scroll;
  }

  // ----- Finding charts, resizing, PNG -----------------------------------------------------

  /** Draws every [data-chart] element under root (the document by default) that changed. */
  function renderAll(root) {
    const scope = root || document;
    const found = Array.from(scope.querySelectorAll("[data-chart]"));
    if (scope.matches && scope.matches("[data-chart]")) found.unshift(scope);
    found.forEach((element) => {
      const { source } = read(element);
      if (element.dataset.chartKind && source === element._chartSource) return;
      render(element);
    });
    watch();
  }

  let pending = 0;
  function redraw() {
    pending = 0;
    drawn.forEach((element) => {
      if (!element.isConnected) {
        dispose(element);
        drawn.delete(element);
        return;
      }
      if (!element._chart) return;
      if (element._chartSize === element.clientWidth + "x" + element.clientHeight) return;
      render(element, element._chartData);
    });
  }
  function later() {
    clearTimeout(pending);
    pending = setTimeout(redraw, 150);
  }

  // A chart redraws when the window or its own box changes size (a designer's resize handle).
  let observer = null;
  let watching = false;
  function watch() {
    if (!watching) {
      window.addEventListener("resize", later);
      watching = true;
    }
    if (!observer && window.ResizeObserver) observer = new ResizeObserver(later);
    if (observer) drawn.forEach((element) => observer.observe(element));
  }

  /** Downloads the chart drawn in element (or the element with that id) as a PNG. */
  function png(element, filename) {
    const target = typeof element === "string" ? document.getElementById(element) : element;
    const chart = target && target._chart;
    if (!chart) return false;
    const data = target._chartData || {};
    const name = filename || String(data.title || data.id || "chart").replace(/[\\/:*?"<>|]+/g, "-") + ".png";
    const link = document.createElement("a");
    link.href = chart.getDataURL({ type: "png", pixelRatio: 2, backgroundColor: "#fff" });
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    return true;
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-chart-png]");
    if (!button) return;
    event.preventDefault();
    png(button.value || button.getAttribute("data-chart-png"), button.dataset.filename);
  });

  // ----- The designer's grid ---------------------------------------------------------------

  /**
   * Makes element a 12-column GridStack whose items are the charts; onChange gets every item's
   * {id, x, y, w, h} after a drag or resize. On a narrow screen the items stack in one column
   * and the 12-column layout is neither changed nor reported.
   */
  function grid(element, options) {
    if (!window.GridStack || !element) return null;
    const onChange = (options || {}).onChange;
    element.classList.add("grid-stack");
    const instance = window.GridStack.init({
      column: 12,
      cellHeight: 80,
      margin: 8,
      mode: "top", // GridStack 14's name for float: false
      columnOpts: { breakpoints: [{ w: 700, c: 1 }], layout: "list" },
      resizable: { handles: "se" },
    }, element);
    instance.on("change", () => {
      if (!onChange || instance.getColumn() !== 12) return;
      const items = instance.getGridItems().map((item) => {
        const node = item.gridstackNode || {};
        return { id: item.getAttribute("gs-id"), x: node.x, y: node.y, w: node.w, h: node.h };
      });
      items.sort((a, b) => a.y - b.y || a.x - b.x);
      onChange(items);
    });
    return instance;
  }

  window.FormflowCharts = { render, renderAll, png, grid, format };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => renderAll(document));
  } else {
    renderAll(document);
  }
  document.addEventListener("htmx:load", (event) => renderAll(event.detail && event.detail.elt));
})();
