/* citygrid console: the popup of a point — who is responsible here — and the form to report a
   case there: a class picker searchable by code or name and grouped by kind and major class, the
   possible duplicates shown before submitting, the caller's contact for 12345 and 公众 (kept
   private), and photos. */
"use strict";

const classesOf = {};
async function districtClasses(district) {
  if (!classesOf[district]) classesOf[district] = await getJSON(`/districts/${district}/classes`);
  return classesOf[district];
}

function answerTable(a) {
  const rows = [
    ["单元网格", a.grid.code], ["社区", a.community.name || a.community.code],
    ["街道", a.street.name || a.street.code], ["区县", `${a.district.name}（${a.district.code}）`],
  ];
  if (a.class) rows.push(["类别", `${a.class.code} ${a.class.name || ""}`]);
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

/* The class picker: a search box over a list grouped by kind and major class. */
function classPicker(classes) {
  const groups = new Map();
  for (const c of classes) {
    const key = `${c.kind === "component" ? "部件" : "事件"} · ${c.major_code} ${c.major_name || ""}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(c);
  }
  const options = [...groups].map(([label, list]) => `<optgroup label="${esc(label)}">${list.map((c) =>
    `<option value="${c.kind}:${esc(c.code)}">${esc(c.code)} ${esc(c.name)}</option>`).join("")}</optgroup>`).join("");
  return `<input type="search" name="class-q" placeholder="搜索类别：代码或名称，如 0102、垃圾" aria-label="搜索类别">
    <select name="class" size="7" required aria-label="类别">${options}</select>`;
}

function filterClasses(form) {
  const q = form.elements["class-q"].value.trim().toLowerCase();
  for (const group of form.elements.class.querySelectorAll("optgroup")) {
    let shown = 0;
    for (const opt of group.children) {
      const match = !q || opt.textContent.toLowerCase().includes(q) || group.label.includes(q);
      opt.hidden = !match;
      shown += match ? 1 : 0;
    }
    group.hidden = shown === 0;
  }
}

function defaultSource(me) {
  return me && (me.post === "监督员" || !me.post) ? "监督员上报" : "12345热线";
}

async function openPopup(map, lngLat, me) {
  const popup = new maplibregl.Popup({ maxWidth: "380px" }).setLngLat(lngLat)
    .setHTML('<div class="popup">查询中…</div>').addTo(map);
  let answer;
  try {
    answer = await getJSON(`/lookup?lon=${lngLat.lng}&lat=${lngLat.lat}`);
  } catch (err) {
    popup.setHTML(`<div class="popup"><h4>不在网格覆盖范围内</h4><p>${esc(err.message)}</p></div>`);
    return popup;
  }
  const head = `<div class="popup" data-grid="${esc(answer.grid.code)}"><h4>网格 ${esc(answer.grid.code)}</h4>${answerTable(answer)}`;
  if (!me || !me.may_report) {
    popup.setHTML(`${head}</div>`);
    return popup;
  }
  const classes = await districtClasses(answer.district.code);
  const source = defaultSource(me);
  const sources = ["12345热线", "公众", "视频", ...(me.post === "监督员" || !me.post ? ["监督员上报"] : [])];
  popup.setHTML(`${head}
    <form class="report">
      <strong>在此上报案件</strong>
      ${classPicker(classes)}
      <p class="dups" role="status" hidden></p>
      <select name="source" aria-label="来源">${sources.map((s) =>
        `<option${s === source ? " selected" : ""}>${s}</option>`).join("")}</select>
      <fieldset class="contact"><legend>来电人（仅中心可见）</legend>
        <input name="reporter_name" placeholder="姓名" aria-label="来电人姓名">
        <input name="reporter_phone" placeholder="电话" aria-label="来电人电话"></fieldset>
      <textarea name="description" rows="2" placeholder="问题描述" required></textarea>
      <label class="file"><input type="file" name="photo" accept="image/jpeg,image/png,image/webp" multiple><span>现场照片</span></label>
      <button type="submit">上报</button><span class="result" role="status"></span>
    </form></div>`);
  const form = popup.getElement().querySelector("form.report");
  chosenNames(form);
  const contact = form.querySelector(".contact");
  const showContact = () => { contact.hidden = !["12345热线", "公众"].includes(form.source.value); };
  showContact();
  form.source.addEventListener("change", showContact);
  form.elements["class-q"].addEventListener("input", () => filterClasses(form));
  form.elements.class.addEventListener("change", () => warnDuplicates(form, lngLat));
  form.addEventListener("submit", (event) => { event.preventDefault(); submitReport(map, form, lngLat); });
  return popup;
}

async function warnDuplicates(form, lngLat) {
  const [kind, cls] = form.elements.class.value.split(":");
  const box = form.querySelector(".dups");
  try {
    const found = await getJSON(`/cases/duplicates?lon=${lngLat.lng}&lat=${lngLat.lat}&class=${cls}&kind=${kind}`);
    box.hidden = !found.duplicates.length;
    box.innerHTML = found.duplicates.length ? `附近已有同类案件，可能重复：${found.duplicates.map((d) =>
      `<a href="#" data-number="${esc(d.number)}">${esc(d.number)}</a>（${esc(STATES[d.state][0])}，${d.distance_m} 米）`).join("、")}` : "";
    box.dataset.count = String(found.duplicates.length);
  } catch (err) {
    box.hidden = false;
    box.textContent = err.message;
  }
}

async function submitReport(map, form, lngLat) {
  const [kind, cls] = (form.elements.class.value || ":").split(":");
  const result = form.querySelector(".result");
  if (!cls) { result.textContent = " 请选择类别"; return; }
  const body = { lon: lngLat.lng, lat: lngLat.lat, class: cls, kind,
                 description: form.description.value, source: form.source.value };
  if (!form.querySelector(".contact").hidden && (form.reporter_name.value || form.reporter_phone.value)) {
    body.reporter = { name: form.reporter_name.value || null, phone: form.reporter_phone.value || null };
  }
  form.querySelector("button").disabled = true;
  try {
    const created = await postJSON("/cases", body);
    for (const file of form.photo.files) {
      const data = new FormData();
      data.append("file", file);
      await call(`/cases/${created.number}/media`, { method: "POST", body: data });
    }
    const dups = created.duplicates.length ? `（可能重复：${created.duplicates.map((d) => d.number).join("、")}）` : "";
    result.textContent = ` 已上报 ${created.number}，责任单位 ${created.department}${dups}`;
    result.dataset.number = created.number;
    await refreshCases(map);
  } catch (err) {
    result.textContent = ` 上报失败：${err.message}`;
  } finally {
    form.querySelector("button").disabled = false;
  }
}
