// focalflow review: the catalog table, one event's beachball and P waveforms, polarity edits.
// Talks only to the server that served this page (see focalflow/review/server.py).
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const QUALITIES = ["A", "B", "C", "D", "E", "F", "none"];
const state = {
  catalog: null, sort: { key: "time", dir: 1 }, current: null, event: null,
  waveforms: null, selected: null, revision: 0, window: [-0.2, 0.5],
};

// ------------------------------------------------------------------ helpers
async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function element(tag, attributes = {}, text = null) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4))
    : document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined) node.setAttribute(key, value);
  }
  if (text !== null) node.textContent = text;
  return node;
}

const fixed = (value, digits) => (value === null || value === undefined ? "–"
  : Number(value).toFixed(digits));

function busy(on) { document.body.dataset.state = on ? "busy" : "ready"; }

function showError(error) {
  busy(false);
  document.getElementById("status").textContent = `error: ${error.message}`;
}

// ------------------------------------------------------------------ catalog
async function loadCatalog() {
  state.catalog = await api("/api/catalog");
  renderHeader();
  renderCatalog();
}

function renderHeader() {
  document.getElementById("workdir").textContent = state.catalog.workdir;
  document.getElementById("user").textContent = `reviewer: ${state.catalog.user}`;
  const times = state.catalog.events.map((row) => row.time).filter(Boolean).sort();
  if (times.length) {  // the catalog's own first and last day show the format to type
    document.getElementById("time-from").placeholder = times[0].slice(0, 10);
    document.getElementById("time-to").placeholder = times[times.length - 1].slice(0, 13);
  }
  const pending = state.catalog.pending.length;
  document.getElementById("pending").textContent = pending
    ? `${pending} event(s) edited: run "focalflow run 6" to update mechanisms.csv, figures and report`
    : "";
}

function catalogValue(row, key) {
  if (["accepted", "edits", "event_id", "time", "mag", "depth_km"].includes(key)) return row[key];
  return row.mechanism ? row.mechanism[key] : null;
}

function visibleRows() {
  const qualities = new Set(Array.from(document.querySelectorAll("#quality-filter input:checked"))
    .map((box) => box.value));
  const cls = document.getElementById("class-filter").value;
  const from = document.getElementById("time-from").value.trim();
  const to = document.getElementById("time-to").value.trim();
  const hideAccepted = document.getElementById("hide-accepted").checked;
  return state.catalog.events.filter((row) => {
    const quality = row.mechanism ? (row.mechanism.quality || "none") : "none";
    if (!qualities.has(quality)) return false;
    if (cls && (!row.mechanism || row.mechanism.faulting_class !== cls)) return false;
    if (from && row.time < from) return false;
    if (to && row.time.slice(0, to.length) > to) return false;
    return !(hideAccepted && row.accepted);
  });
}

function renderCatalog() {
  const rows = visibleRows();
  const { key, dir } = state.sort;
  rows.sort((a, b) => {
    const x = catalogValue(a, key), y = catalogValue(b, key);
    if (x === y) return 0;
    if (x === null || x === undefined || x === "") return 1;
    if (y === null || y === undefined || y === "") return -1;
    return (x < y ? -1 : 1) * dir;
  });
  document.querySelectorAll("#catalog th").forEach((th) => {
    th.classList.toggle("asc", th.dataset.key === key && dir > 0);
    th.classList.toggle("desc", th.dataset.key === key && dir < 0);
  });
  const body = document.querySelector("#catalog tbody");
  body.replaceChildren(...rows.map(catalogRow));
  document.getElementById("shown").textContent =
    `${rows.length} of ${state.catalog.events.length} events`;
}

function catalogRow(row) {
  const m = row.mechanism;
  const tr = element("tr", { "data-event-id": row.event_id });
  if (row.event_id === state.current) tr.classList.add("current");
  const cells = [
    [row.accepted ? "✓" : "", "text"], [row.event_id, "text"],
    [row.time.replace("T", " ").slice(0, 19), "text"], [fixed(row.mag, 1)],
    [m ? `${fixed(m.strike, 0)}/${fixed(m.dip, 0)}/${fixed(m.rake, 0)}` : "–"],
    [m ? m.quality + (m.solutions > 1 ? "*" : "") : "–", m ? `text q-${m.quality}` : "text"],
    [m ? m.faulting_class : "", "text"], [m ? fixed(m.polarity_misfit, 1) : "–"],
    [m ? fixed(m.num_p_pol, 0) : "–"], [row.edits || ""],
  ];
  for (const [text, css] of cells) tr.appendChild(element("td", { class: css || null }, text));
  const ball = element("td", { class: "ball" });
  if (row.ball) ball.innerHTML = row.ball;  // SVG made by the server from numbers only
  tr.appendChild(ball);
  tr.addEventListener("click", () => openEvent(row.event_id).catch(showError));
  return tr;
}

// ------------------------------------------------------------------ one event
async function openEvent(eventId) {
  busy(true);
  state.current = eventId;
  state.selected = null;
  const [event, waveforms] = await Promise.all([
    api(`/api/event?id=${encodeURIComponent(eventId)}`),
    api(`/api/waveforms?id=${encodeURIComponent(eventId)}`),
  ]);
  state.event = event;
  state.waveforms = waveforms;
  renderEvent();
  document.querySelectorAll("#catalog tbody tr").forEach((tr) =>
    tr.classList.toggle("current", tr.dataset.eventId === eventId));
  busy(false);
}

function mechanismText(m) {
  return `strike/dip/rake ${fixed(m.strike, 0)}/${fixed(m.dip, 0)}/${fixed(m.rake, 0)} ` +
    `(plane 2: ${fixed(m.strike2, 0)}/${fixed(m.dip2, 0)}/${fixed(m.rake2, 0)}) · ` +
    `quality ${m.quality} · misfit ${fixed(m.polarity_misfit, 1)} % · ` +
    `uncertainty ${fixed(m.fault_plane_uncertainty, 0)}° · ${m.faulting_class}`;
}

function renderEvent() {
  const e = state.event;
  state.revision += 1;
  const view = document.getElementById("event");
  view.dataset.eventId = e.event_id;
  view.dataset.revision = state.revision;
  document.getElementById("placeholder").hidden = true;
  document.getElementById("event-body").hidden = false;
  document.getElementById("event-title").textContent =
    `Event ${e.event_id} · ${e.time.replace("T", " ").slice(0, 22)} · M ${fixed(e.mag, 1)} · ` +
    `depth ${fixed(e.depth_km, 1)} km`;
  const box = document.getElementById("mechanism");
  const m = e.mechanism;
  box.textContent = m ? `Now: ${mechanismText(m)}` : "Now: no mechanism";
  for (const key of ["strike", "dip", "rake", "quality", "polarity_misfit"]) {
    box.dataset[key] = m ? m[key] : "";
  }
  if (e.solutions.length > 1) {
    box.appendChild(element("span", { class: "multiple" },
      ` · multiple solutions (${e.solutions.length})`));
  }
  document.getElementById("stored").textContent = e.stored
    ? `Stage 6 (mechanisms.csv): ${mechanismText(e.stored)}` : "Stage 6: no mechanism yet";
  document.getElementById("accepted-mark").textContent = e.accepted ? "✓ accepted" : "";
  const edits = e.stations.filter((s) => s.edit).length;
  document.getElementById("status").textContent =
    `recomputed in ${e.elapsed_s.toFixed(2)} s · ${edits} station(s) edited` +
    (e.ball ? ` · ${e.ball.acceptable} acceptable mechanisms` : "");
  document.getElementById("problems").replaceChildren(
    ...e.problems.map((p) => element("li", {}, p)));
  renderSolutions();
  renderHistory();
  renderBall();
  renderStations();
}

function renderSolutions() {
  const list = state.event.solutions;
  const box = document.getElementById("solutions");
  box.replaceChildren();
  if (list.length > 1) {
    list.forEach((s, k) => box.appendChild(element("div", {},
      `Solution ${k + 1}: ${fixed(s.strike, 0)}/${fixed(s.dip, 0)}/${fixed(s.rake, 0)} ` +
      `quality ${s.quality}, probability ${fixed(s.prob_mech, 0)} %` +
      (k ? " (dashed)" : " (drawn)"))));
  }
}

function renderHistory() {
  const body = document.querySelector("#history tbody");
  body.replaceChildren(...state.event.history.map((h) => {
    const tr = element("tr");
    const station = [h.network, h.station, h.location].filter((x) => x).join(".");
    for (const text of [h.time.replace("T", " ").slice(0, 19), h.user,
      h.action + (h.polarity ? ` ${h.polarity}` : ""), station, h.note]) {
      tr.appendChild(element("td", {}, text));
    }
    return tr;
  }));
}

// ------------------------------------------------------------------ beachball (SVG)
const flipY = (points) => points.map(([x, y]) => `${x},${-y}`).join(" ");

function renderBall() {
  const svg = document.getElementById("ball");
  svg.replaceChildren();
  const ball = state.event.ball;
  svg.appendChild(element("svg:circle", { cx: 0, cy: 0, r: 1, fill: "#fff" }));
  if (ball) {
    for (const polygon of ball.compressional) {
      svg.appendChild(element("svg:polygon", { points: flipY(polygon), class: "compressional" }));
    }
    for (const curve of ball.cloud) {
      svg.appendChild(element("svg:polyline", { points: flipY(curve), class: "cloud" }));
    }
    for (const planes of ball.others) {
      for (const curve of planes) {
        svg.appendChild(element("svg:polyline", { points: flipY(curve), class: "other" }));
      }
    }
    for (const curve of ball.planes) {
      svg.appendChild(element("svg:polyline", { points: flipY(curve), class: "plane" }));
    }
  }
  svg.appendChild(element("svg:circle", { cx: 0, cy: 0, r: 1, class: "rim" }));
  svg.appendChild(element("svg:line", { x1: 0, y1: -1, x2: 0, y2: -1.06, class: "plane" }));
  svg.appendChild(element("svg:text", { x: 0, y: -1.11, class: "axis-label" }, "N"));
  svg.appendChild(element("svg:text", { x: 0, y: 1.13, fill: "#555" },
    "lower hemisphere, equal-area projection"));
  if (ball) {
    for (const [name, [x, y]] of [["P", ball.p_axis], ["T", ball.t_axis]]) {
      svg.appendChild(element("svg:circle", { cx: x, cy: -y, r: 0.045, class: "axis" }));
      svg.appendChild(element("svg:text", { x, y: -y, class: "axis-label" }, name));
    }
  }
  state.event.stations.forEach((s, index) => {
    if (s.x === null || s.polarity === null || s.polarity === 0) return;
    const group = element("svg:g", { class: "station", "data-key": s.key });
    const cls = s.polarity > 0 ? "up" : "down";
    group.appendChild(element("svg:circle", { cx: s.x, cy: -s.y, r: 0.035, class: cls }));
    if (s.misfit) {
      const d = 0.05;
      group.appendChild(element("svg:path", {
        d: `M${s.x - d},${-s.y - d}L${s.x + d},${-s.y + d}M${s.x + d},${-s.y - d}L${s.x - d},${-s.y + d}`,
        class: "misfit",
      }));
    }
    if (s.key === state.selected) {
      group.appendChild(element("svg:circle", { cx: s.x, cy: -s.y, r: 0.065, class: "selected" }));
    }
    const r = Math.hypot(s.x, s.y) || 1;
    const [dx, dy] = r > 0.1 ? [s.x / r, s.y / r] : [0.7, 0.7];
    group.appendChild(element("svg:text", {
      x: s.x + 0.075 * dx, y: -(s.y + 0.075 * dy), class: "number",
    }, String(index + 1)));
    const title = element("svg:title", {}, `${s.label}: azimuth ${fixed(s.azimuth, 0)}°, ` +
      `take-off ${fixed(s.takeoff, 0)}°`);
    group.appendChild(title);
    group.addEventListener("click", () => select(s.key, true));
    svg.appendChild(group);
  });
}

// ------------------------------------------------------------------ stations and waveforms
function select(key, scroll) {
  state.selected = state.selected === key ? null : key;
  renderBall();
  document.querySelectorAll(".station-row").forEach((row) =>
    row.classList.toggle("selected", row.dataset.key === state.selected));
  const row = document.querySelector(`.station-row[data-key="${CSS.escape(key)}"]`);
  if (scroll && row) row.scrollIntoView({ block: "center" });
}

function traceSvg(trace, polarity) {
  const width = 250, height = 42;
  const [t0, t1] = state.window;
  const svg = element("svg:svg", { width, height, class: "trace" });
  if (!trace) {
    svg.appendChild(element("svg:text", { x: 8, y: 25, fill: "#999", "font-size": 11 },
      "no P window"));
    return svg;
  }
  const x = (t) => ((t - t0) / (t1 - t0)) * width;
  const points = [];
  trace.t.forEach((t, k) => {
    if (t >= t0 && t <= t1) points.push(`${x(t).toFixed(1)},${(height / 2 - trace.v[k] * height * 0.44).toFixed(1)}`);
  });
  const css = polarity > 0 ? "trace-up" : polarity < 0 ? "trace-down" : "trace-none";
  svg.appendChild(element("svg:line", { x1: x(0), x2: x(0), y1: 0, y2: height, class: "pick" }));
  svg.appendChild(element("svg:polyline", { points: points.join(" "), class: css }));
  return svg;
}

function renderStations() {
  const traces = state.waveforms ? state.waveforms.traces : {};
  const rows = state.event.stations.map((s, index) => {
    const row = element("div", { class: "station-row", "data-key": s.key });
    if (s.key === state.selected) row.classList.add("selected");
    if (s.edit === "drop") row.classList.add("dropped");
    row.appendChild(element("span", { class: "num" }, String(index + 1)));
    const name = element("span");
    const label = element("span", { class: "label", title: s.key }, s.label);
    label.addEventListener("click", () => select(s.key, false));
    name.append(label, element("span", { class: "where" },
      `az ${fixed(s.azimuth, 0)}° · ${fixed(s.distance_km, 1)} km`));
    row.appendChild(name);
    row.appendChild(traceSvg(traces[s.key], s.polarity));
    const badge = s.polarity > 0 ? ["up", "↑ up"] : s.polarity < 0 ? ["down", "↓ dn"]
      : ["none", s.polarity === 0 ? "0" : "–"];
    row.appendChild(element("span", { class: `badge ${badge[0]}`, title: "polarity used" },
      badge[1]));
    const info = element("span", {
      class: "info",
      title: "CNN probabilities of the recorded trace; the analyst's polarity as recorded " +
        "(before the station reversal table); log10 S/P after station correction",
    });
    const lines = [];
    if (s.prob_up !== null) lines.push(`CNN up ${fixed(s.prob_up, 2)} / dn ${fixed(s.prob_down, 2)}`);
    if (s.analyst) lines.push(`analyst ${s.analyst}`);
    if (s.sp_ratio !== null) lines.push(`log S/P ${fixed(s.sp_ratio, 2)}`);
    const flags = [];
    if (s.reversed || (traces[s.key] && traces[s.key].reversed)) flags.push("reversed station");
    if (s.misfit) flags.push("misfit");
    if (flags.length) lines.push(flags.join(", "));
    info.textContent = lines.join(" · ");
    if (s.edit) info.appendChild(element("span", { class: "edit" }, ` · edited: ${s.edit}`));
    row.appendChild(info);
    const buttons = element("div", { class: "buttons" });
    const actions = [
      ["up", "↑", "set the polarity to up", () => edit(s, "set", 1)],
      ["down", "↓", "set the polarity to down", () => edit(s, "set", -1)],
      ["flip", "flip", "reverse the polarity used", () => edit(s, s.edit === "flip" ? "restore" : "flip")],
      ["drop", "drop", "leave this station out", () => edit(s, "drop")],
      ["restore", "restore", "undo this station's edits", () => edit(s, "restore")],
    ];
    for (const [name, text, title, action] of actions) {
      const button = element("button", { type: "button", class: name, title }, text);
      if (name === "restore" && !s.edit) button.disabled = true;
      if (name === "flip" && (s.polarity === null || s.polarity === 0) && s.edit !== "flip") {
        button.disabled = true;
      }
      button.addEventListener("click", (event) => { event.stopPropagation(); action().catch(showError); });
      buttons.appendChild(button);
    }
    info.appendChild(buttons);
    return row;
  });
  document.getElementById("stations").replaceChildren(...rows);
}

async function edit(station, action, polarity = null) {
  busy(true);
  state.selected = station.key;
  showEvent(await api("/api/edit", {
    event_id: state.event.event_id, action, network: station.network,
    station: station.station, location: station.location, polarity,
  }));
  busy(false);
}

async function accept() {
  busy(true);
  showEvent(await api("/api/accept", { event_id: state.event.event_id }));
  busy(false);
}

function showEvent(event) {
  // the answer carries the event's catalog row: patch the table instead of reloading it
  state.event = event;
  renderEvent();
  const rows = state.catalog.events;
  rows[rows.findIndex((row) => row.event_id === event.event_id)] = event.row;
  state.catalog.pending = event.pending;
  renderHeader();
  renderCatalog();
}

// ------------------------------------------------------------------ start
function setUp() {
  const qualityBox = document.getElementById("quality-filter");
  for (const quality of QUALITIES) {
    const label = element("label");
    const box = element("input", { type: "checkbox", value: quality, checked: "" });
    box.addEventListener("change", renderCatalog);
    label.append(box, ` ${quality}`);
    qualityBox.appendChild(label);
  }
  for (const id of ["class-filter", "time-from", "time-to", "hide-accepted"]) {
    document.getElementById(id).addEventListener("input", renderCatalog);
  }
  document.querySelectorAll("#catalog th[data-key]").forEach((th) => th.addEventListener("click", () => {
    state.sort = { key: th.dataset.key, dir: state.sort.key === th.dataset.key ? -state.sort.dir : 1 };
    renderCatalog();
  }));
  document.querySelectorAll("#window-controls button").forEach((button) => {
    button.classList.toggle("active", button.dataset.window === state.window.join(","));
    button.addEventListener("click", () => {
      state.window = button.dataset.window.split(",").map(Number);
      document.querySelectorAll("#window-controls button").forEach((b) =>
        b.classList.toggle("active", b === button));
      if (state.event) renderStations();
    });
  });
  document.getElementById("accept").addEventListener("click", () => accept().catch(showError));
  loadCatalog().then(() => busy(false)).catch(showError);
}

setUp();
