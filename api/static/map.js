/* citygrid operator map: grids, outlines and the census as vector tiles from PostGIS, cases as
   GeoJSON; click for who is responsible, report a case from the popup, search by code.
   Everything is served by citygrid itself: no CDN, no glyph server (grid codes are DOM labels). */
"use strict";

const MAJOR_COLOURS = {
  "01": "#2e86de", "02": "#10ac84", "03": "#ee5253", "04": "#1dd1a1", "05": "#8395a7",
  "06": "#576574", "21": "#ff9f43",
};
const MAJOR_NAMES = {
  legacy: { "01": "公用设施", "02": "道路交通", "03": "市容环境", "04": "园林绿化", "05": "房屋土地",
            "06": "其他设施", "21": "扩展部件" },
  gb47678: { "01": "市政公用设施", "02": "交通设施", "03": "市容环卫设施", "04": "园林绿化设施",
             "05": "其他管理部件" },
};
const STATES = {
  reported: ["上报", "#e67e22"], accepted: ["受理", "#f0b27a"], filed: ["立案", "#d4ac0d"],
  dispatched: ["派遣", "#2e86de"], handled: ["处置反馈", "#8e44ad"], checked: ["核查通过", "#16a085"],
  suspended: ["挂账", "#5d6d7e"], closed: ["结案", "#7f8c8d"], void: ["作废", "#b2babb"],
};
const BASIS = {
  component_maintainer: "部件养护单位", component_department: "部件主管部门",
  responsibility_zone: "责任区域", responsibility_list: "权责清单", territorial_fallback: "属地兜底",
};
const OPEN_STATES = "reported,accepted,filed,dispatched,handled,checked,suspended";

const esc = (value) => String(value ?? "").replace(/[&<>"']/g,
  (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

/* The API token: given once as map#token=…, then kept in this browser. */
const TOKEN_KEY = "citygrid.token";
(function takeTokenFromHash() {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) {
    localStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
})();
const token = () => localStorage.getItem(TOKEN_KEY);
const authHeaders = () => (token() ? { Authorization: `Bearer ${token()}` } : {});

function askForToken(message) {
  const box = document.getElementById("login");
  box.hidden = false;
  box.querySelector(".why").textContent = message || "";
}

async function getJSON(url, options = {}) {
  const resp = await fetch(url, { ...options, headers: { ...(options.headers || {}), ...authHeaders() } });
  if (resp.status === 401) askForToken("令牌无效或已过期，请重新输入。");
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const message = body?.error?.message || `HTTP ${resp.status}`;
    throw Object.assign(new Error(message), { status: resp.status, body });
  }
  return body;
}

function tiles(layer) {
  return [`${location.origin}/tiles/${layer}/{z}/{x}/{y}.pbf`];
}

function style(config) {
  const sources = {
    grids: { type: "vector", tiles: tiles("grids"), minzoom: 11, maxzoom: 18 },
    outlines: { type: "vector", tiles: tiles("outlines"), minzoom: 8, maxzoom: 16 },
    components: { type: "vector", tiles: tiles("components"), minzoom: 14, maxzoom: 18 },
    cases: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
    highlight: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
  };
  const layers = [{ id: "background", type: "background", paint: { "background-color": "#eef1f4" } }];
  if (config.base_map_url) {
    sources.base = { type: "raster", tiles: [config.base_map_url], tileSize: 256,
                     attribution: config.base_map_attribution || "" };
    layers.push({ id: "base", type: "raster", source: "base" });
  }
  const majorColour = ["match", ["get", "major"],
    ...Object.entries(MAJOR_COLOURS).flat(), "#555"];
  layers.push(
    { id: "grid-fill", type: "fill", source: "grids", "source-layer": "grids",
      paint: { "fill-color": "#ffffff", "fill-opacity": 0.35 } },
    { id: "grid-line", type: "line", source: "grids", "source-layer": "grids",
      paint: { "line-color": "#5d6d7e", "line-width": ["interpolate", ["linear"], ["zoom"], 12, 0.3, 17, 1.2] } },
    { id: "community-line", type: "line", source: "outlines", "source-layer": "communities",
      paint: { "line-color": "#1f618d", "line-width": 1.6, "line-dasharray": [3, 2] } },
    { id: "street-line", type: "line", source: "outlines", "source-layer": "streets",
      paint: { "line-color": "#154360", "line-width": 2.6 } },
    { id: "component-fill", type: "fill", source: "components", "source-layer": "components",
      filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "fill-color": majorColour, "fill-opacity": 0.35 } },
    { id: "component-line", type: "line", source: "components", "source-layer": "components",
      filter: ["==", ["geometry-type"], "LineString"],
      paint: { "line-color": majorColour, "line-width": 2.5 } },
    { id: "component-point", type: "circle", source: "components", "source-layer": "components",
      filter: ["==", ["geometry-type"], "Point"],
      paint: { "circle-color": majorColour, "circle-radius": ["interpolate", ["linear"], ["zoom"], 14, 2, 18, 5],
               "circle-stroke-color": "#fff", "circle-stroke-width": 0.6 } },
    { id: "case-point", type: "circle", source: "cases",
      paint: { "circle-radius": 7,
               "circle-color": ["match", ["get", "state"],
                 ...Object.entries(STATES).flatMap(([k, v]) => [k, v[1]]), "#555"],
               "circle-stroke-color": ["case", ["get", "overdue"], "#e00000", "#ffffff"],
               "circle-stroke-width": ["case", ["get", "overdue"], 3, 1.5] } },
    { id: "highlight-fill", type: "fill", source: "highlight", filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "fill-color": "#f1c40f", "fill-opacity": 0.45 } },
    { id: "highlight-line", type: "line", source: "highlight",
      paint: { "line-color": "#d35400", "line-width": 3 } },
    { id: "highlight-point", type: "circle", source: "highlight", filter: ["==", ["geometry-type"], "Point"],
      paint: { "circle-radius": 11, "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": "#d35400",
               "circle-stroke-width": 3 } },
  );
  return { version: 8, sources, layers };
}

const LAYER_GROUPS = {
  grids: ["grid-fill", "grid-line"],
  outlines: ["community-line", "street-line"],
  components: ["component-fill", "component-line", "component-point"],
  cases: ["case-point"],
};

/* map?district=341802 opens on that county (the address `citygrid onboard` prints). */
function opening(districts) {
  const wanted = new URLSearchParams(location.search).get("district");
  const chosen = districts.filter((d) => d.code === wanted && d.bbox);
  return chosen.length ? chosen : districts;
}

function bboxOf(districts) {
  const boxes = districts.map((d) => d.bbox).filter(Boolean);
  if (!boxes.length) return [[73, 18], [135, 54]];
  return [[Math.min(...boxes.map((b) => b[0])), Math.min(...boxes.map((b) => b[1]))],
          [Math.max(...boxes.map((b) => b[2])), Math.max(...boxes.map((b) => b[3]))]];
}

function legends(config) {
  const schemes = new Set(config.districts.map((d) => d.scheme));
  const majors = {};
  for (const s of schemes) Object.assign(majors, MAJOR_NAMES[s] || {});
  const ordered = Object.entries(majors).sort(([a], [b]) => a.localeCompare(b));
  document.getElementById("legend-components").innerHTML = ordered.map(([code, name]) =>
    `<li><span class="swatch" style="background:${MAJOR_COLOURS[code] || "#555"}"></span>${esc(code)} ${esc(name)}</li>`).join("");
  document.getElementById("legend-cases").innerHTML = Object.entries(STATES).map(([, [name, colour]]) =>
    `<li><span class="swatch" style="background:${colour}"></span>${esc(name)}</li>`).join("") +
    '<li><span class="swatch" style="background:#fff;border:3px solid #e00000"></span>超期</li>';
}

/* -- grid code labels at close zoom (DOM markers: no glyph server needed) ------------------- */
let labelMarkers = [];
let labelledView = "";
function refreshGridLabels(map, force = false) {
  // on every idle (tiles arrive after moveend), but only when the view changed
  const view = `${map.getCenter().toArray()}|${map.getZoom()}`;
  if (view === labelledView && !force) return;
  labelledView = view;
  labelMarkers.forEach((m) => m.remove());
  labelMarkers = [];
  if (map.getZoom() < 16.5 || map.getLayoutProperty("grid-line", "visibility") === "none") return;
  const seen = new Map();
  for (const f of map.queryRenderedFeatures({ layers: ["grid-fill"] })) {
    const code = f.properties.code;
    if (seen.has(code)) continue;
    const ring = f.geometry.type === "Polygon" ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
    const lon = ring.reduce((s, c) => s + c[0], 0) / ring.length;
    const lat = ring.reduce((s, c) => s + c[1], 0) / ring.length;
    seen.set(code, [lon, lat]);
  }
  for (const [code, at] of seen) {
    const el = document.createElement("div");
    el.className = "grid-label";
    el.textContent = code;
    labelMarkers.push(new maplibregl.Marker({ element: el }).setLngLat(at).addTo(map));
  }
}

/* -- cases: one query feeds both the list and the pins ----------------------------------------- */
let services = {};
async function refreshCases(map) {
  const params = new URLSearchParams({ limit: "500" });
  const state = document.getElementById("f-state").value;
  const cls = document.getElementById("f-class").value.trim();
  if (state) params.set("state", state);
  if (cls) params.set("class", cls);
  if (document.getElementById("f-overdue").checked) params.set("overdue", "true");
  const page = await getJSON(`/cases?${params}`);
  document.getElementById("case-count").textContent = `共 ${page.total} 件`;
  const list = document.getElementById("case-list");
  list.innerHTML = page.items.map((c) => {
    const [name, colour] = STATES[c.state];
    return `<li data-number="${esc(c.number)}" data-lon="${c.point.lon}" data-lat="${c.point.lat}">
      <span class="state" style="background:${colour}">${esc(name)}</span>
      ${esc(c.class.name)}${c.overdue ? ' <span class="overdue">超期</span>' : ""}<br>
      <span class="no">${esc(c.number)}</span><br>${esc(c.department || "")}</li>`;
  }).join("");
  map.getSource("cases").setData({ type: "FeatureCollection", features: page.items.map((c) => ({
    type: "Feature", id: c.number,
    geometry: { type: "Point", coordinates: [c.point.lon, c.point.lat] },
    properties: { number: c.number, state: c.state, overdue: c.overdue, class_name: c.class.name,
                  department: c.department || "" } })) });
}

/* -- the popup: who is responsible here, and a form to report a case ---------------------------- */
function answerTable(a) {
  const rows = [
    ["单元网格", a.grid.code], ["社区", a.community.name || a.community.code],
    ["街道", a.street.name || a.street.code], ["区县", `${a.district.name}（${a.district.code}）`],
  ];
  if (a.component) rows.push(["最近部件", `${a.component.name}（${a.component.code}）${a.component.distance_m} 米`]);
  rows.push(["责任单位", a.responsible.department], ["依据", BASIS[a.responsible.basis] || a.responsible.basis]);
  let html = `<table>${rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join("")}</table>`;
  if (a.ambiguous) {
    const grids = a.alternatives.grids.join("、");
    const comps = a.alternatives.components.map((c) => c.code).join("、");
    html += `<p class="warn">位于边界附近：${esc(grids ? `相邻网格 ${grids}` : "")}${esc(comps ? ` 同距部件 ${comps}` : "")}</p>`;
  }
  return html;
}

async function classOptions(district) {
  if (!services[district]) {
    services[district] = await getJSON(`/open311/v2/services.json?jurisdiction_id=${district}`);
  }
  return services[district].map((s) =>
    `<option value="${esc(s.service_code)}">${esc(s.service_code.split("-")[1])} ${esc(s.service_name)}${s.service_code.startsWith("component") ? "（部件）" : ""}</option>`).join("");
}

async function openPopup(map, lngLat) {
  const popup = new maplibregl.Popup({ maxWidth: "340px" }).setLngLat(lngLat)
    .setHTML('<div class="popup">查询中…</div>').addTo(map);
  let answer;
  try {
    answer = await getJSON(`/lookup?lon=${lngLat.lng}&lat=${lngLat.lat}`);
  } catch (err) {
    popup.setHTML(`<div class="popup"><h4>不在网格覆盖范围内</h4><p>${esc(err.message)}</p></div>`);
    return popup;
  }
  const options = await classOptions(answer.district.code);
  popup.setHTML(`<div class="popup" data-grid="${esc(answer.grid.code)}"><h4>网格 ${esc(answer.grid.code)}</h4>
    ${answerTable(answer)}
    <form class="report">
      <strong>在此上报案件</strong>
      <select name="service" aria-label="类别">${options}</select>
      <select name="source" aria-label="来源"><option>12345热线</option><option>监督员上报</option>
        <option>公众</option><option>视频</option></select>
      <textarea name="description" rows="2" placeholder="问题描述" required></textarea>
      <button type="submit">上报</button><span class="result" role="status"></span>
    </form></div>`);
  const form = popup.getElement().querySelector("form.report");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const [kind, cls] = form.service.value.split("-");
    const result = form.querySelector(".result");
    try {
      const created = await getJSON("/cases", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ lon: lngLat.lng, lat: lngLat.lat, class: cls, kind,
                               description: form.description.value, source: form.source.value }) });
      const dups = created.duplicates.length ? `（可能重复：${created.duplicates.map((d) => d.number).join("、")}）` : "";
      result.textContent = ` 已上报 ${created.number}，责任单位 ${created.department}${dups}`;
      result.dataset.number = created.number;
      await refreshCases(map);
    } catch (err) {
      result.textContent = ` 上报失败：${err.message}`;
    }
  });
  return popup;
}

/* -- search: fly to a grid, a component or a case ---------------------------------------------- */
async function search(map, q) {
  const msg = document.getElementById("search-msg");
  msg.textContent = "";
  try {
    const hit = await getJSON(`/search?q=${encodeURIComponent(q)}`);
    map.getSource("highlight").setData({ type: "Feature", geometry: hit.geometry, properties: {} });
    const [x1, y1, x2, y2] = hit.bbox;
    if (x1 === x2 && y1 === y2) map.flyTo({ center: [x1, y1], zoom: 18 });
    else map.fitBounds([[x1, y1], [x2, y2]], { padding: 120, maxZoom: 18 });
    msg.textContent = hit.label;
    document.body.dataset.found = hit.id;
  } catch (err) {
    msg.textContent = err.message;
  }
}

async function main() {
  const config = await getJSON("/map/config.json");
  legends(config);
  if (config.calendar_warning) {
    const banner = document.getElementById("calendar-warning");
    banner.textContent = config.calendar_warning;
    banner.hidden = false;
  }
  if (!token()) askForToken("请输入访问令牌（citygrid token create 生成；make demo 在终端打印）。");
  const map = new maplibregl.Map({ container: "map", style: style(config), bounds: bboxOf(opening(config.districts)),
                                   fitBoundsOptions: { padding: 20 }, attributionControl: { compact: true },
                                   transformRequest: (url) => (url.startsWith(location.origin)
                                     ? { url, headers: authHeaders() } : { url }) });
  window.citygridMap = map;   // for the operator's console and the browser tests
  map.addControl(new maplibregl.NavigationControl(), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
  map.on("load", async () => {
    await refreshCases(map);
    document.body.dataset.ready = "1";
  });
  map.on("idle", () => refreshGridLabels(map));
  map.on("click", (event) => {
    const hits = map.queryRenderedFeatures(event.point, { layers: ["case-point"] });
    if (hits.length) {
      const p = hits[0].properties;
      new maplibregl.Popup().setLngLat(event.lngLat).setHTML(`<div class="popup"><h4>案件 ${esc(p.number)}</h4>
        <p>${esc(p.class_name)} · ${esc(STATES[p.state][0])}${p.overdue ? " · 超期" : ""}</p><p>${esc(p.department)}</p></div>`).addTo(map);
      return;
    }
    openPopup(map, event.lngLat);
  });
  for (const box of document.querySelectorAll("#layers input[data-layer]")) {
    box.addEventListener("change", () => {
      for (const id of LAYER_GROUPS[box.dataset.layer]) {
        map.setLayoutProperty(id, "visibility", box.checked ? "visible" : "none");
      }
      refreshGridLabels(map, true);
    });
  }
  document.getElementById("search").addEventListener("submit", (event) => {
    event.preventDefault();
    search(map, document.getElementById("search-q").value);
  });
  for (const id of ["f-state", "f-class", "f-overdue"]) {
    document.getElementById(id).addEventListener("change", () => refreshCases(map));
  }
  document.getElementById("case-list").addEventListener("click", (event) => {
    const item = event.target.closest("li[data-number]");
    if (!item) return;
    map.flyTo({ center: [Number(item.dataset.lon), Number(item.dataset.lat)], zoom: 18 });
    map.getSource("highlight").setData({ type: "Feature", properties: {},
      geometry: { type: "Point", coordinates: [Number(item.dataset.lon), Number(item.dataset.lat)] } });
  });
}

document.getElementById("login").addEventListener("submit", (event) => {
  event.preventDefault();
  localStorage.setItem(TOKEN_KEY, event.target.token.value.trim());
  location.reload();
});

main().catch((err) => {
  console.error(err);
  document.getElementById("map").textContent = `地图加载失败：${err.message}`;
});
