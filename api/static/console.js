/* citygrid console: the case list, kept live by the server's event stream (GET /cases/events,
   read with fetch so the token stays in the Authorization header), and the case beside the map —
   its snapshot, clocks with a countdown, history, photos, the caller's contact for the centre —
   with the actions the token's post may take now as buttons and their forms. */
"use strict";

let openNumber = null;           // the case shown in the detail panel
let unseen = 0;                  // new cases since the operator last looked at the list
let soundOn = false;

/* -- the list ---------------------------------------------------------------------------------- */
async function refreshCases(map) {
  const params = new URLSearchParams({ limit: "500" });
  const state = document.getElementById("f-state").value;
  const cls = document.getElementById("f-class").value.trim();
  if (state) params.set("state", state);
  if (cls) params.set("class", cls);
  if (document.getElementById("f-overdue").checked) params.set("overdue", "true");
  const page = await getJSON(`/cases?${params}`);
  document.getElementById("case-count").textContent = `共 ${page.total} 件`;
  document.getElementById("case-list").innerHTML = page.items.map((c) => {
    const [name, colour] = STATES[c.state];
    return `<li data-number="${esc(c.number)}" data-lon="${c.point.lon}" data-lat="${c.point.lat}"${c.number === openNumber ? ' class="open"' : ""}>
      <span class="state" style="background:${colour}">${esc(name)}</span>
      ${esc(c.class.name)}${c.overdue ? ' <span class="overdue">超期</span>' : ""}<br>
      <span class="no">${esc(c.number)}</span>${c.due_at ? ` <span class="due">${esc(countdown(c.due_at))}</span>` : ""}<br>${esc(c.department || "")}</li>`;
  }).join("");
  map.getSource("cases").setData({ type: "FeatureCollection", features: page.items.map((c) => ({
    type: "Feature", id: c.number,
    geometry: { type: "Point", coordinates: [c.point.lon, c.point.lat] },
    properties: { number: c.number, state: c.state, overdue: c.overdue, class_name: c.class.name,
                  department: c.department || "" } })) });
}

function showBadge() {
  const badge = document.getElementById("new-badge");
  badge.hidden = unseen === 0;
  badge.textContent = `新案件 ${unseen}`;
}

function beep() {
  if (!soundOn) return;
  const ctx = new (window.AudioContext || window.webkitAudioContext)();
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.frequency.value = 880;
  gain.gain.setValueAtTime(0.15, ctx.currentTime);
  gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + 0.4);
  osc.connect(gain).connect(ctx.destination);
  osc.start();
  osc.stop(ctx.currentTime + 0.4);
}

/* -- the live feed: server-sent events over fetch, reconnecting ------------------------------- */
let refreshTimer = null;
function onCaseEvent(map, event) {
  if (event.action === "report") { unseen += 1; showBadge(); beep(); }
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => refreshCases(map).catch(console.warn), 300);
  if (event.number === openNumber) openCase(map, openNumber, false);
  document.body.dataset.lastEvent = `${event.number}:${event.seq}`;
}

async function listen(map) {
  const live = document.getElementById("live");
  for (let wait = 1000; ; wait = Math.min(wait * 2, 30000)) {
    try {
      const resp = await fetch("/cases/events", { headers: authHeaders() });
      if (resp.status === 401 || resp.status === 403) { live.textContent = "未连接"; return; }
      if (!resp.ok || !resp.body) throw new Error(`HTTP ${resp.status}`);
      live.textContent = "● 实时"; live.classList.add("on");
      document.body.dataset.live = "1";
      wait = 1000;
      const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
          if (data) onCaseEvent(map, JSON.parse(data));
        }
      }
    } catch (err) {
      console.warn("case feed:", err.message);
    }
    live.textContent = "○ 重新连接…"; live.classList.remove("on");
    document.body.dataset.live = "0";
    await new Promise((r) => setTimeout(r, wait));
  }
}

/* -- one case ---------------------------------------------------------------------------------- */
function snapshotRows(c) {
  const s = c.snapshot || {};
  const rows = [["来源", c.source], ["类别", `${c.class.code} ${c.class.name}（${c.class.kind === "component" ? "部件" : "事件"}）`],
    ["单元网格", c.grid], ["社区", s.community?.name || c.community], ["街道", s.street?.name || c.street]];
  if (s.component) rows.push(["部件", `${s.component.name || ""}（${s.component.code}）`],
                             ["权属单位", s.component.owner || "—"], ["养护单位", s.component.maintainer || "—"]);
  if (s.responsible) rows.push(["责任单位", `${s.responsible.department}（${BASIS[s.responsible.basis] || s.responsible.basis}）`]);
  if (c.department && c.department !== s.responsible?.department) rows.push(["承办单位", c.department]);
  if (c.address) rows.push(["地址", c.address]);
  if (c.reporter) rows.push(["来电人", [c.reporter.name, c.reporter.phone].filter(Boolean).join(" ") || "—"]);
  if (c.pending) rows.push(["待审批", `${c.pending.kind === "extend" ? "延期" : c.pending.kind === "return" ? "退回" : "挂账"}申请：${c.pending.reason || ""}（${c.pending.by}）`]);
  return `<table class="kv">${rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join("")}</table>`;
}

function clocks(c) {
  const rows = c.steps.map((s) => `<tr class="${s.done_at ? (s.late ? "late" : "") : (s.late ? "late running" : "running")}">
    <td>${esc(s.name)}</td><td>${esc(s.holder || "")}</td><td>${esc(when(s.due))}</td>
    <td>${s.done_at ? `${esc(when(s.done_at))}${s.late ? " 超期" : ""}` : `<span class="countdown" data-due="${esc(s.due || "")}">${esc(countdown(s.due))}</span>`}</td></tr>`);
  return `<table class="steps"><tr><th>环节</th><th>承办</th><th>期限</th><th>完成</th></tr>${rows.join("")}</table>`;
}

function history(c) {
  return `<ol class="history">${c.history.map((e) => `<li><span class="t">${esc(when(e.at))}</span>
    <b>${esc(e.name)}</b> ${esc(e.post || "")} ${esc(e.person)}${e.department ? `（${esc(e.department)}）` : ""}${e.target ? ` → ${esc(e.target)}` : ""}${e.late ? ' <span class="overdue">超期</span>' : ""}${e.note ? `<br><span class="note">${esc(e.note)}</span>` : ""}</li>`).join("")}</ol>`;
}

function field(f) {
  const req = f.required ? " required" : "";
  if (f.kind === "select") {
    return `<label>${esc(f.label)}<select name="${f.name}"${req}>${f.options.map(([v, l]) =>
      `<option value="${esc(v)}"${v === f.default ? " selected" : ""}>${esc(l)}</option>`).join("")}</select></label>`;
  }
  if (f.kind === "duration") {
    const [amount, unit] = (f.default || "1 working_days").split(" ");
    return `<label>${esc(f.label)}<span class="duration"><input name="${f.name}-amount" type="number" min="0.5" step="0.5" value="${esc(amount)}"${req}>
      <select name="${f.name}-unit">${f.options.map(([v, l]) => `<option value="${v}"${v === unit ? " selected" : ""}>${esc(l)}</option>`).join("")}</select></span></label>`;
  }
  if (f.kind === "textarea") return `<label>${esc(f.label)}<textarea name="${f.name}" rows="2"${req}></textarea></label>`;
  return `<label>${esc(f.label)}<input name="${f.name}"${req}></label>`;
}

function actionsHtml(offers) {
  if (!offers.actions.length) {
    return `<p class="hint">${offers.post ? `${esc(offers.post)}现在对本案没有可做的操作。` : "此令牌没有岗位，只能查看。"}</p>`;
  }
  return offers.actions.map((a) => `<details class="act" data-action="${esc(a.action)}"><summary>${esc(a.name)}</summary>
    <form data-action="${esc(a.action)}"${a.confirm ? ` data-confirm="${esc(a.confirm)}"` : ""}>${a.fields.map(field).join("")}
    <button type="submit">${esc(a.name)}</button><span class="result" role="status"></span></form></details>`).join("");
}

async function openCase(map, number, fly = true) {
  openNumber = number;
  const panel = document.getElementById("case-detail");
  const [c, offers] = await Promise.all([getJSON(`/cases/${number}`), getJSON(`/cases/${number}/actions`)]);
  if (openNumber !== number) return;           // another case was opened meanwhile
  document.getElementById("case-list-view").hidden = true;
  panel.hidden = false;
  const [stateName, colour] = STATES[c.state];
  const photos = (c.photos || []).map((p) => `<a href="#" class="photo" data-src="${esc(p.url)}"><img alt="照片 ${p.id}" data-src="${esc(p.url)}"></a>`).join("");
  const kept = formsOf(panel, number);
  panel.innerHTML = `<button type="button" class="back">← 案件列表</button>
    <h2 data-number="${esc(c.number)}">案件 ${esc(c.number)} <span class="state" style="background:${colour}">${esc(stateName)}</span></h2>
    ${c.due_at ? `<p class="due-now">${esc(c.step?.name || "")}期限 ${esc(when(c.due_at))} · <span class="countdown" data-due="${esc(c.due_at)}">${esc(countdown(c.due_at))}</span></p>` : ""}
    <p class="desc">${esc(c.description)}</p>${snapshotRows(c)}
    <h3>操作（${esc(offers.post || "无岗位")} ${esc(offers.person)}）</h3><div class="actions">${actionsHtml(offers)}</div>
    <h3>各环节时限</h3>${clocks(c)}
    <h3>办理经过</h3>${history(c)}
    <h3>现场照片</h3><div class="photos">${photos || '<span class="hint">无</span>'}</div>
    <form class="add-photo"><label class="file"><input type="file" name="photo" accept="image/jpeg,image/png,image/webp"><span>选择照片</span></label><button type="submit">上传</button></form>`;
  restoreForms(panel, kept);
  loadPhotos(panel);
  panel.querySelector(".back").addEventListener("click", closeCase);
  for (const form of panel.querySelectorAll("form[data-action]")) {
    form.addEventListener("submit", (event) => { event.preventDefault(); act(map, number, form); });
  }
  chosenNames(panel.querySelector("form.add-photo"));
  panel.querySelector("form.add-photo").addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = event.target.photo.files[0];
    if (!file) return;
    const data = new FormData();
    data.append("file", file);
    await call(`/cases/${number}/media`, { method: "POST", body: data }).catch((err) => alert(err.message));
    openCase(map, number, false);
  });
  if (fly) map.flyTo({ center: [c.point.lon, c.point.lat], zoom: Math.max(map.getZoom(), 17) });
  map.getSource("highlight").setData({ type: "Feature", properties: {},
    geometry: { type: "Point", coordinates: [c.point.lon, c.point.lat] } });
  document.body.dataset.case = `${c.number}:${c.state}`;
}

/* The case shown again (a change pushed by the server, a photo added): the action forms the
   operator had opened, and what they had typed, stay as they were while still offered. */
function formsOf(panel, number) {
  if (panel.querySelector("h2[data-number]")?.dataset.number !== number) return { open: [], values: [] };
  return {
    open: [...panel.querySelectorAll("details.act[open]")].map((d) => d.dataset.action),
    values: [...panel.querySelectorAll("form[data-action] [name]")].map((e) => [e.form.dataset.action, e.name, e.value]),
  };
}

function restoreForms(panel, kept) {
  for (const action of kept.open) panel.querySelector(`details.act[data-action="${CSS.escape(action)}"]`)?.setAttribute("open", "");
  for (const [action, name, value] of kept.values) {
    const input = panel.querySelector(`form[data-action="${CSS.escape(action)}"] [name="${CSS.escape(name)}"]`);
    if (input) input.value = value;
  }
}

/* Photos need the token: fetched, then shown from blob URLs. */
async function loadPhotos(panel) {
  for (const img of panel.querySelectorAll("img[data-src]")) {
    const resp = await fetch(img.dataset.src, { headers: authHeaders() });
    if (resp.ok) img.src = URL.createObjectURL(await resp.blob());
  }
}

function closeCase() {
  openNumber = null;
  document.getElementById("case-detail").hidden = true;
  document.getElementById("case-list-view").hidden = false;
  delete document.body.dataset.case;
}

async function act(map, number, form) {
  if (form.dataset.confirm && !confirm(form.dataset.confirm)) return;
  const body = { action: form.dataset.action };
  for (const el of form.elements) {
    if (!el.name || el.name.endsWith("-unit")) continue;
    if (el.name.endsWith("-amount")) {
      const name = el.name.slice(0, -7);
      body[name] = `${el.value} ${form.elements[`${name}-unit`].value}`;
    } else if (el.value !== "") {
      body[el.name] = el.name === "condition" ? Number(el.value) : el.value;
    }
  }
  const result = form.querySelector(".result");
  form.querySelector("button").disabled = true;
  try {
    await postJSON(`/cases/${number}/transitions`, body);
    form.reset();                                  // done: not kept open for the next render
    form.closest("details")?.removeAttribute("open");
    await openCase(map, number, false);
    refreshCases(map).catch(console.warn);
  } catch (err) {
    result.textContent = ` ${err.message}`;
    form.querySelector("button").disabled = false;
  }
}

/* The countdowns tick every half minute. */
setInterval(() => {
  for (const el of document.querySelectorAll(".countdown[data-due]")) {
    if (el.dataset.due) el.textContent = countdown(el.dataset.due);
  }
}, 30000);

function wireConsole(map) {
  document.getElementById("case-list").addEventListener("click", (event) => {
    const item = event.target.closest("li[data-number]");
    if (item) openCase(map, item.dataset.number).catch((err) => alert(err.message));
  });
  document.getElementById("new-badge").addEventListener("click", () => {
    unseen = 0; showBadge();
    document.getElementById("f-state").value = OPEN_STATES;
    refreshCases(map);
  });
  document.getElementById("sound").addEventListener("change", (event) => { soundOn = event.target.checked; });
  for (const id of ["f-state", "f-class", "f-overdue"]) {
    document.getElementById(id).addEventListener("change", () => refreshCases(map));
  }
  listen(map);
}
