/* citygrid console: what the map and the case panel share — the token, calls to the API with
   one-line Chinese errors, and the names of states and bases. Everything is served by citygrid
   itself. */
"use strict";

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

/* The Chinese part of an API message ("中文 (English)"): what a person reads. */
function chinese(message) {
  const text = String(message || "");
  const cut = text.search(/ \([A-Za-z]/);
  return cut > 0 ? text.slice(0, cut) : text;
}

async function call(url, options = {}) {
  const resp = await fetch(url, { ...options, headers: { ...(options.headers || {}), ...authHeaders() } });
  if (resp.status === 401) {
    askForToken(token() ? "令牌无效或已过期，请重新输入。" : "请输入访问令牌。");
  }
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const message = chinese(body?.error?.message) || `请求失败（HTTP ${resp.status}）`;
    throw Object.assign(new Error(message), { status: resp.status, body });
  }
  return body;
}

const getJSON = (url) => call(url);
const postJSON = (url, data) => call(url, { method: "POST", headers: { "Content-Type": "application/json" },
                                            body: JSON.stringify(data) });

/* A file picker drawn as a Chinese button (the browser's own says "Choose File" in its UI
   language): the label shows what was chosen. */
function chosenNames(form) {
  const input = form.querySelector("label.file input");
  const label = form.querySelector("label.file span");
  const empty = label.textContent;
  input.addEventListener("change", () => {
    const n = input.files.length;
    label.textContent = n === 0 ? empty : n === 1 ? input.files[0].name : `已选 ${n} 张`;
  });
}

/* Times in China's time, whatever the browser's zone (deadlines are counted in it). */
const CHINA_TIME = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", month: "2-digit",
  day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });

function when(iso) {
  if (!iso) return "";
  const p = Object.fromEntries(CHINA_TIME.formatToParts(new Date(iso)).map((x) => [x.type, x.value]));
  return `${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

/* "还剩 3 小时 12 分" / "已超期 25 分" until a due time. */
function countdown(iso, now = Date.now()) {
  if (!iso) return "";
  let left = Math.round((new Date(iso).getTime() - now) / 60000);
  const late = left < 0;
  left = Math.abs(left);
  const days = Math.floor(left / 1440), hours = Math.floor((left % 1440) / 60), mins = left % 60;
  const text = `${days ? `${days} 天 ` : ""}${days || hours ? `${hours} 小时 ` : ""}${mins} 分`;
  return late ? `已超期 ${text}` : `还剩 ${text}`;
}
