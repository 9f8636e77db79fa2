// The live air picture: a Leaflet map (no tiles: the bench has no network) and a side panel,
// fed over a websocket by rig's web server (rig/web/server.py). Every state received is kept,
// so the slider scrubs back through the run; "live" follows the newest state again.
"use strict";

const PARTNER_COLOURS = ["#58a6ff", "#f0883e", "#3fb950", "#bc8cff", "#ff7b72", "#39c5cf",
                         "#d29922", "#e3b341"];
const HEALTH = {streaming: "ok", open: "warn", starting: "warn", recovering: "bad",
                disconnected: "bad", stale: "bad", failed: "bad", "not opened": "bad",
                closed: "off", "not started": "off"};
const TRAIL_S = 60;       // track history drawn behind each track
const PLOTS_S = 8;        // plots drawn, fading with age
const LEADER_S = 60;      // a line from each track to where it will be this much later
const STATUS_STYLE = {confirmed: "#ffffff", tentative: "#8b949e", coasting: "#d29922"};

const view = {setup: null, states: [], shown: -1, follow: true, ended: false};
window.rigView = view;    // for people at the console, and for the browser tests

const map = L.map("map", {preferCanvas: true, zoomControl: true, attributionControl: false,
                          worldCopyJump: false}).setView([0, 0], 2);
const layers = {
  sites: L.layerGroup().addTo(map), plots: L.layerGroup().addTo(map),
  trails: L.layerGroup().addTo(map), tracks: L.layerGroup().addTo(map),
};
L.control.scale({imperial: false}).addTo(map);
const $ = (id) => document.getElementById(id);

function partnerColour(partner) {
  const i = view.setup ? view.setup.partners.indexOf(partner) : -1;
  return PARTNER_COLOURS[(i < 0 ? 0 : i) % PARTNER_COLOURS.length];
}

function healthOf(state) { return HEALTH[state] || "warn"; }

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

// --- setup: sites and coverage --------------------------------------------------------------
function onSetup(setup) {
  view.setup = setup;
  view.states = [];
  view.shown = -1;
  $("name").textContent = setup.name;
  document.title = `rig: ${setup.name}`;
  layers.sites.clearLayers();
  const bounds = [];
  setup.sensors.forEach((s, i) => {
    const colour = partnerColour(s.partner);
    const circle = L.circle([s.lat, s.lon], {radius: s.range_max_m, color: colour, weight: 1,
      opacity: 0.6, fill: true, fillOpacity: 0.04, interactive: false});
    layers.sites.addLayer(circle);
    const site = L.circleMarker([s.lat, s.lon], {radius: 7, color: colour, weight: 2,
      fillColor: colour, fillOpacity: 0.9});
    site.bindTooltip(`${s.id} (partner ${s.partner}, ${s.family})<br>${s.transport}`);
    s.marker = site;
    layers.sites.addLayer(site);
    bounds.push(circle.getBounds());
  });
  if (bounds.length) {
    map.fitBounds(bounds.reduce((a, b) => a.extend(b), L.latLngBounds(bounds[0].getSouthWest(),
                                                                     bounds[0].getNorthEast())));
  }
  $("legend").innerHTML = setup.partners.map((p) =>
    `<span><i class="swatch" style="background:${partnerColour(p)}"></i>partner ${p}</span>`)
    .join("") + '<span><i class="swatch" style="background:#fff"></i>fused track</span>';
}

// --- one state ------------------------------------------------------------------------------
function drawState(index) {
  const state = view.states[index];
  if (!state || !view.setup) return;
  view.shown = index;
  drawPlots(index);
  drawTracks(index);
  drawFigures(state);
  drawSensors(state);
  drawRisks(state);
  const slider = $("time");
  slider.max = String(view.states.length - 1);
  slider.value = String(index);
  $("time-label").textContent = `t = ${state.t.toFixed(1)} / ${view.setup.duration_s} s`;
  const latest = index === view.states.length - 1;
  const status = view.ended && latest ? "ended" : latest && view.follow ? "live" : "history";
  $("status").dataset.status = status;
  $("status").textContent = {live: "live", ended: "run ended",
                             history: `history (${(view.states.at(-1).t - state.t).toFixed(1)} s ago)`}[status];
  $("live").classList.toggle("off", !view.follow);
}

function drawPlots(index) {
  layers.plots.clearLayers();
  const now = view.states[index].t;
  for (let i = index; i >= 0 && now - view.states[i].t <= PLOTS_S; i--) {
    const age = now - view.states[i].t;
    const opacity = Math.max(0.15, 1 - age / PLOTS_S);
    for (const [sensor, lat, lon] of view.states[i].plots) {
      const s = view.setup.sensors[sensor];
      layers.plots.addLayer(L.circleMarker([lat, lon], {radius: 2, stroke: false,
        fillColor: partnerColour(s ? s.partner : null), fillOpacity: opacity,
        interactive: false}));
    }
  }
}

// Where a track will be ``seconds`` later at its speed and heading (flat earth: a short line).
function ahead(tr, seconds) {
  const d = tr.speed * seconds, h = tr.heading * Math.PI / 180;
  return [tr.lat + d * Math.cos(h) / 111320,
          tr.lon + d * Math.sin(h) / (111320 * Math.cos(tr.lat * Math.PI / 180))];
}

function drawTracks(index) {
  layers.tracks.clearLayers();
  layers.trails.clearLayers();
  const state = view.states[index];
  const trails = new Map();
  for (let i = index; i >= 0 && state.t - view.states[i].t <= TRAIL_S; i--) {
    for (const tr of view.states[i].tracks) {
      if (!trails.has(tr.id)) trails.set(tr.id, []);
      trails.get(tr.id).push([tr.lat, tr.lon]);
    }
  }
  const body = $("tracks").tBodies[0];
  body.replaceChildren();
  const shown = state.tracks.filter((tr) => tr.status !== "deleted").sort((a, b) => a.id - b.id);
  $("track-count").textContent = `(${shown.length})`;
  for (const tr of shown) {
    const colour = STATUS_STYLE[tr.status] || "#ffffff";
    const trail = trails.get(tr.id);
    if (trail && trail.length > 1) {
      layers.trails.addLayer(L.polyline(trail, {color: colour, weight: 1, opacity: 0.5,
                                                interactive: false}));
    }
    layers.trails.addLayer(L.polyline([[tr.lat, tr.lon], ahead(tr, LEADER_S)], {color: colour,
      weight: 1, opacity: 0.9, interactive: false}));
    const marker = L.circleMarker([tr.lat, tr.lon], {radius: 4, color: colour, weight: 2,
      fill: tr.status === "confirmed", fillColor: colour, fillOpacity: 1});
    marker.bindTooltip(`${tr.id}`, {permanent: shown.length <= 60, direction: "right",
                                    className: "track-label", offset: [4, 0]});
    marker.bindPopup(`track ${tr.id} (${tr.status})<br>from partners ${tr.partners.join(", ") || "-"}` +
                     `<br>${tr.alt} m, ${tr.speed} m/s, heading ${tr.heading}°`);
    layers.tracks.addLayer(marker);
    const row = document.createElement("tr");
    row.dataset.track = tr.id;
    row.dataset.lat = tr.lat;
    row.dataset.lon = tr.lon;
    row.dataset.status = tr.status;
    const from = document.createElement("td");
    for (const p of tr.partners) {
      const dot = document.createElement("i");
      dot.className = "swatch";
      dot.style.background = partnerColour(p);
      dot.title = `partner ${p}`;
      from.append(dot);
    }
    from.append(tr.partners.join(" "));
    row.append(cell(tr.id), cell(tr.status), from, cell(tr.alt, "n"), cell(tr.speed, "n"),
               cell(tr.heading, "n"));
    body.append(row);
  }
}

function fmt(x, digits = 2) { return x === null || x === undefined ? "–" : Number(x).toFixed(digits); }

function drawFigures(state) {
  const rows = [
    ["tracks published", state.tracks.filter((t) => t.status !== "deleted").length],
    ["plots fused / rejected", `${fmt(state.plots_in, 0)} / ${fmt(state.plots_rejected, 0)}`],
    ["processing ms p50 / p99", `${fmt(state.processing_ms[0])} / ${fmt(state.processing_ms[1])}`],
    ["transport ms p50 / p99", `${fmt(state.transport_ms[0])} / ${fmt(state.transport_ms[1])}`],
    ["tick lateness ms p99", fmt(state.lateness_p99_ms)],
    ["deadline misses", fmt(state.deadline_misses, 0)],
  ];
  const table = $("figures");
  table.replaceChildren(...rows.map(([k, v]) => {
    const tr = document.createElement("tr");
    tr.append(cell(k), cell(String(v), "n"));
    return tr;
  }));
}

function drawSensors(state) {
  const body = $("sensors").tBodies[0];
  body.replaceChildren();
  for (const [id, partner, family, st, plots, rate, errors] of state.sensors) {
    const health = healthOf(st);
    const row = document.createElement("tr");
    row.dataset.sensor = id;
    row.dataset.health = health;
    const who = document.createElement("td");
    who.innerHTML = `<i class="swatch" style="background:${partnerColour(partner)}"></i>`;
    who.append(partner);
    row.append(cell(id), who, cell(family), cell(st, "state"), cell(plots, "n"),
               cell(rate, "n"), cell(errors, "n"));
    body.append(row);
    const site = view.setup.sensors.find((s) => s.id === id);
    if (site && site.marker) {
      site.marker.setStyle({color: health === "bad" ? "#f85149" : partnerColour(partner),
                            weight: health === "bad" ? 4 : 2});
    }
  }
}

function drawRisks(state) {
  const list = $("at-risk");
  if (!state.at_risk.length) {
    list.innerHTML = '<li class="none">none</li>';
    return;
  }
  list.replaceChildren(...state.at_risk.map((text) => {
    const li = document.createElement("li");
    li.textContent = text;
    return li;
  }));
}

// --- the websocket --------------------------------------------------------------------------
function addState(state) {
  view.states.push(state);
  if (view.follow) drawState(view.states.length - 1);
  else $("time").max = String(view.states.length - 1);
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws`);
  socket.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.type === "setup") onSetup(msg);
    else if (msg.type === "history") {
      view.states = msg.states;
      if (view.states.length) drawState(view.states.length - 1);
    } else if (msg.type === "state") addState(msg);
    else if (msg.type === "end") {
      view.ended = true;
      if (view.states.length) drawState(view.shown < 0 ? view.states.length - 1 : view.shown);
    }
  };
  socket.onclose = () => {
    if (!view.ended) {
      $("status").dataset.status = "lost";
      $("status").textContent = "connection lost: retrying";
      setTimeout(connect, 2000);
    }
  };
}

$("time").addEventListener("input", (event) => {
  const index = Number(event.target.value);
  view.follow = index === view.states.length - 1;
  drawState(index);
});
$("live").addEventListener("click", () => {
  view.follow = true;
  if (view.states.length) drawState(view.states.length - 1);
});
connect();
