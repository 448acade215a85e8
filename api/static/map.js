/* citygrid operator map: grids, outlines and the census as vector tiles from PostGIS, cases as
   GeoJSON; click for who is responsible, report a case from the popup, search by code; the
   cursor's coordinates (CGCS2000 and the county's Gauss-Krüger), street and community.
   Everything is served by citygrid itself: no CDN, no glyph server (grid codes are DOM labels).
   common.js, report.js and console.js are loaded before it. */
"use strict";

const MAJOR_COLOURS = {
  "01": "#2e86de", "02": "#10ac84", "03": "#ee5253", "04": "#1dd1a1", "05": "#8395a7",
  "06": "#576574", "21": "#ff9f43",
};
const SCHEME_NAMES = { legacy: "CJ/T 214", gb47678: "GB/T 47678" };
const MIN_ZOOM = { grids: 9, outlines: 6, components: 14 };   // as the server draws them

function tiles(layer) {
  return [`${location.origin}/tiles/${layer}/{z}/{x}/{y}.pbf`];
}

function style(config) {
  const sources = {
    grids: { type: "vector", tiles: tiles("grids"), minzoom: MIN_ZOOM.grids, maxzoom: 18 },
    outlines: { type: "vector", tiles: tiles("outlines"), minzoom: MIN_ZOOM.outlines, maxzoom: 16 },
    components: { type: "vector", tiles: tiles("components"), minzoom: MIN_ZOOM.components, maxzoom: 18 },
    cases: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
    rejects: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
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
    // invisible fills: what the cursor is over
    { id: "street-fill", type: "fill", source: "outlines", "source-layer": "streets",
      paint: { "fill-opacity": 0 } },
    { id: "community-fill", type: "fill", source: "outlines", "source-layer": "communities",
      paint: { "fill-opacity": 0 } },
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
    // rows the county's onboarding rejected, where they had a shape (GIS staff only)
    { id: "reject-fill", type: "fill", source: "rejects", filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "fill-color": "#c0392b", "fill-opacity": 0.25 } },
    { id: "reject-line", type: "line", source: "rejects", filter: ["!=", ["geometry-type"], "Point"],
      paint: { "line-color": "#c0392b", "line-width": 2, "line-dasharray": [2, 1] } },
    { id: "reject-point", type: "circle", source: "rejects", filter: ["==", ["geometry-type"], "Point"],
      paint: { "circle-radius": 6, "circle-color": "rgba(192,57,43,0.25)", "circle-stroke-color": "#c0392b",
               "circle-stroke-width": 2.5 } },
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
  outlines: ["community-line", "street-line", "street-fill", "community-fill"],
  components: ["component-fill", "component-line", "component-point"],
  cases: ["case-point"],
  rejects: ["reject-fill", "reject-line", "reject-point"],
};
const REJECT_LAYERS = LAYER_GROUPS.rejects;
const GIS_ROLES = ["city_admin", "district_gis"];

/* The rows each county's onboarding rejected (GET /districts/{code}/rejects), for the GIS staff
   who send them back to the contractor: a layer, and a popup naming the file, the feature id in
   it (as QGIS shows it) and the reason. */
async function loadRejects(map, districts) {
  const features = [];
  for (const d of districts) {
    const found = await getJSON(`/districts/${d.code}/rejects`);
    features.push(...found.features.filter((f) => f.geometry));
  }
  map.getSource("rejects").setData({ type: "FeatureCollection", features });
  document.getElementById("reject-count").textContent = features.length ? `（${features.length}）` : "";
}

function rejectPopup(map, lngLat, p) {
  new maplibregl.Popup({ maxWidth: "360px" }).setLngLat(lngLat).setHTML(
    `<div class="popup reject"><h3>退回要素</h3><table>
      <tr><th>文件</th><td>${esc(p.source)}</td></tr>
      <tr><th>要素编号</th><td>${esc(p.row)}（QGIS 中 $id = ${esc(p.row)}）</td></tr>
      <tr><th>原因</th><td>${esc(p.reason_zh || p.reason)}</td></tr>
      <tr><th>说明</th><td>${esc(p.message)}</td></tr></table></div>`).addTo(map);
}

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
  const schemes = Object.keys(config.majors || {});
  document.getElementById("legend-components").innerHTML = schemes.map((scheme) => {
    const counties = config.districts.filter((d) => d.scheme === scheme).map((d) => d.name).join("、");
    const head = schemes.length > 1 ? `<li class="scheme">${esc(SCHEME_NAMES[scheme] || scheme)}（${esc(counties)}）</li>` : "";
    return head + Object.entries(config.majors[scheme]).map(([code, name]) =>
      `<li><span class="swatch" style="background:${MAJOR_COLOURS[code] || "#555"}"></span>${esc(code)} ${esc(name)}</li>`).join("");
  }).join("");
  document.getElementById("legend-cases").innerHTML = Object.entries(STATES).map(([, [name, colour]]) =>
    `<li><span class="swatch" style="background:${colour}"></span>${esc(name)}</li>`).join("") +
    '<li><span class="swatch" style="background:#fff;border:3px solid #e00000"></span>超期</li>';
}

/* -- where the cursor is: CGCS2000, the county's Gauss-Krüger (Krüger's series), names ------ */
function transverseMercator(lon, lat, p) {
  const f = 1 / p.rf, n = f / (2 - f), e = Math.sqrt(f * (2 - f));
  const A = p.a / (1 + n) * (1 + n * n / 4 + n ** 4 / 64);
  const alpha = [n / 2 - 2 * n * n / 3 + 5 * n ** 3 / 16, 13 * n * n / 48 - 3 * n ** 3 / 5, 61 * n ** 3 / 240];
  const phi = lat * Math.PI / 180, lam = (lon - p.lon_0) * Math.PI / 180;
  const t = Math.sinh(Math.atanh(Math.sin(phi)) - e * Math.atanh(e * Math.sin(phi)));
  const xi0 = Math.atan2(t, Math.cos(lam)), eta0 = Math.atanh(Math.sin(lam) / Math.sqrt(1 + t * t));
  let xi = xi0, eta = eta0;
  alpha.forEach((a, i) => {
    const j = 2 * (i + 1);
    xi += a * Math.sin(j * xi0) * Math.cosh(j * eta0);
    eta += a * Math.cos(j * xi0) * Math.sinh(j * eta0);
  });
  return [p.x_0 + p.k * A * eta, p.y_0 + p.k * A * xi];
}

function showCursor(map, config, event) {
  const { lng, lat } = event.lngLat;
  const here = map.queryRenderedFeatures(event.point, { layers: ["grid-fill", "street-fill", "community-fill"] });
  const find = (layer) => here.find((f) => f.layer.id === layer)?.properties;
  const grid = find("grid-fill"), street = find("street-fill"), community = find("community-fill");
  const district = config.districts.find((d) => d.bbox && d.projection && lng >= d.bbox[0] && lng <= d.bbox[2]
                                         && lat >= d.bbox[1] && lat <= d.bbox[3]);
  let text = `CGCS2000 ${lng.toFixed(6)}, ${lat.toFixed(6)}`;
  if (district) {
    const [x, y] = transverseMercator(lng, lat, district.projection);
    text += ` · ${district.projection.name} X ${x.toFixed(1)} Y ${y.toFixed(1)}`;
  }
  const names = [street?.name, community?.name].filter(Boolean).join(" / ");
  if (names) text += ` · ${names}`;
  if (grid) text += ` · 网格 ${grid.code}`;
  document.getElementById("cursor").textContent = text;
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
    if (hit.type === "case") openCase(map, hit.id, false).catch(console.warn);
  } catch (err) {
    msg.textContent = err.status === 404 ? `没有找到 ${q}` : err.message;
  }
}

async function main() {
  const config = await getJSON("/map/config.json");
  legends(config);
  const me = config.me;
  document.getElementById("me").textContent = me ? `${me.post || "无岗位"} · ${me.name}${me.department ? `（${me.department}）` : ""}` : "";
  const banner = document.getElementById("calendar-warning");
  if (config.calendar_warning) {
    banner.textContent = config.calendar_warning;
    banner.hidden = false;
  }
  if (!token()) askForToken("请输入访问令牌（citygrid token create 生成；make demo 在终端打印）。");
  // the token's districts fill the map, below the banner when there is one
  const map = new maplibregl.Map({ container: "map", style: style(config), bounds: bboxOf(opening(config.districts)),
                                   fitBoundsOptions: { padding: { top: banner.hidden ? 20 : 60, bottom: 30, left: 20, right: 20 } },
                                   attributionControl: { compact: true },
                                   transformRequest: (url) => (url.startsWith(location.origin)
                                     ? { url, headers: authHeaders() } : { url }) });
  window.citygridMap = map;   // for integrators and the browser tests
  map.addControl(new maplibregl.NavigationControl(), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
  const gis = me && GIS_ROLES.includes(me.role);
  document.getElementById("rejects-layer").hidden = !gis;
  map.on("load", async () => {
    if (gis) await loadRejects(map, opening(config.districts)).catch(console.warn);
    await refreshCases(map);
    document.body.dataset.ready = "1";
  });
  map.on("idle", () => refreshGridLabels(map));
  map.on("mousemove", (event) => showCursor(map, config, event));
  map.on("click", (event) => {
    const bad = gis ? map.queryRenderedFeatures(event.point, { layers: REJECT_LAYERS }) : [];
    if (bad.length) {
      rejectPopup(map, event.lngLat, bad[0].properties);
      return;
    }
    const hits = map.queryRenderedFeatures(event.point, { layers: ["case-point"] });
    if (hits.length) {
      openCase(map, hits[0].properties.number, false).catch((err) => alert(err.message));
      return;
    }
    openPopup(map, event.lngLat, me);
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
  wireConsole(map);
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
