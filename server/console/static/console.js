// imstatus admin console: plain JavaScript, no framework, no network
// beyond this server. Every value from the server is put in the page as
// text (textContent), never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
let session = null; // {sdkappid, admin, csrf, node, with}
let timer = null;
const HISTORY = 300; // samples kept: five minutes at one a second
const samples = []; // {t, connections, devices, counters}

// The overview's cards: gauges show their value, counters their rate.
const CARDS = [
  ["devices", "Logged-in devices (this app)", "gauge"],
  ["connections", "Connections (node, all apps)", "gauge"],
  ["logins", "Logins (this app)", "rate"],
  ["logins_refused", "Refused logins, UserSig (this app)", "rate"],
  ["status_pushes", "Status pushes (this app)", "rate"],
  ["statuses_superseded", "Superseded pushes (this app)", "rate"],
  ["slow_readers_closed", "Slow readers closed (this app)", "rate"],
  ["rate_limited", "Calls rate-limited, 7008 (node)", "rate"],
  ["webhook_sent", "Webhooks sent (node)", "rate"],
  ["webhook_failed", "Webhooks failed (node)", "rate"],
  ["webhook_dropped", "Webhooks dropped (node)", "rate"],
  ["store_errors", "Backend errors (node)", "rate"],
];

async function api(method, path, body) {
  const sep = path.includes("?") ? "&" : "?";
  const url = session ? path + sep + "sdkappid=" + encodeURIComponent(session.sdkappid) : path;
  const opts = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  if (method === "POST" && session) opts.headers["X-Console-Token"] = session.csrf;
  const r = await fetch(url, opts);
  let data = {};
  try { data = await r.json(); } catch (e) { /* empty body */ }
  if (r.status === 401 && session) { showLogin(data.error || "session ended"); }
  if (!r.ok) throw new Error(data.error || r.statusText);
  return data;
}

function flash(msg) {
  $("flash").textContent = msg;
  setTimeout(() => { if ($("flash").textContent === msg) $("flash").textContent = ""; }, 4000);
}

function showLogin(msg) {
  session = null;
  clearInterval(timer);
  $("nav").hidden = true;
  document.querySelectorAll(".page").forEach((p) => { p.hidden = true; });
  $("login").hidden = false;
  $("login-error").textContent = msg || "";
}

function started(s) {
  session = s;
  $("login").hidden = true;
  $("nav").hidden = false;
  $("who").textContent = "app " + s.sdkappid + " · " + s.admin + " (" + s.with + ")";
  $("node").textContent = "node " + s.node;
  samples.length = 0;
  show("overview");
  poll();
  clearInterval(timer);
  timer = setInterval(poll, 1000);
}

function show(page) {
  document.querySelectorAll(".page").forEach((p) => { p.hidden = p.id !== page; });
  document.querySelectorAll("#nav button[data-page]").forEach((b) => b.classList.toggle("on", b.dataset.page === page));
}

// --- overview ---

function buildCards() {
  const box = $("cards");
  for (const [key, title] of CARDS) {
    const card = document.createElement("div");
    card.className = "card";
    card.id = "card-" + key;
    const h = document.createElement("h3");
    h.textContent = title;
    const v = document.createElement("span");
    v.className = "v";
    v.id = "stat-" + key;
    v.textContent = "–";
    const r = document.createElement("span");
    r.className = "r";
    r.id = "rate-" + key;
    const c = document.createElement("canvas");
    c.width = 480;
    c.height = 112;
    card.append(h, v, r, c);
    box.append(card);
  }
}

function value(s, key) {
  if (key === "devices" || key === "connections") return s[key];
  if (s.app_counters && key in s.app_counters) return s.app_counters[key];
  return s.counters[key] || 0;
}

async function poll() {
  let s;
  try { s = await api("GET", "api/stats"); } catch (e) { return; }
  s.t = Date.parse(s.time);
  samples.push(s);
  if (samples.length > HISTORY + 1) samples.shift();
  for (const [key, , kind] of CARDS) {
    const series = [];
    for (let i = 1; i < samples.length; i++) {
      const a = samples[i - 1], b = samples[i];
      const dt = Math.max((b.t - a.t) / 1000, 0.001);
      series.push(kind === "gauge" ? value(b, key) : Math.max(value(b, key) - value(a, key), 0) / dt);
    }
    $("stat-" + key).textContent = String(value(s, key));
    const last = series.length ? series[series.length - 1] : 0;
    $("rate-" + key).textContent = kind === "rate" ? last.toFixed(1) + "/s" : "";
    draw(document.querySelector("#card-" + key + " canvas"), series);
  }
  const nb = document.querySelector("#nodes tbody");
  nb.replaceChildren();
  for (const n of s.nodes || []) {
    const name = n.node === s.node ? n.node + " (this one)" : n.node;
    row(nb, [name, String(n.connections), String(n.devices), Math.round(n.share * 100) + " %", when(n.at)]);
  }
  $("nodes-error").textContent = s.nodes_error || "";
}

function draw(canvas, series) {
  const g = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  g.clearRect(0, 0, w, h);
  g.strokeStyle = "#e4e7ec";
  g.beginPath(); g.moveTo(0, h - 0.5); g.lineTo(w, h - 0.5); g.stroke();
  if (series.length < 2) return;
  const max = Math.max(1, ...series);
  g.fillStyle = "#667085";
  g.font = "20px system-ui";
  g.fillText(String(Math.round(max * 10) / 10), 4, 20);
  g.strokeStyle = "#2f6fdf";
  g.lineWidth = 3;
  // The first minute fills the width as it comes; then five minutes scroll.
  const step = w / Math.min(HISTORY, Math.max(60, series.length - 1));
  g.beginPath();
  series.forEach((v, i) => {
    const x = w - (series.length - 1 - i) * step;
    const y = h - 4 - (v / max) * (h - 28);
    if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
  });
  g.stroke();
}

// --- user inspector ---

function fill(listId, items, empty) {
  const el = $(listId);
  el.replaceChildren();
  for (const it of items || []) {
    const li = document.createElement("li");
    li.textContent = it;
    el.append(li);
  }
  if (!(items || []).length) {
    const li = document.createElement("li");
    li.className = "hint";
    li.textContent = empty;
    el.append(li);
  }
}

function when(t) {
  if (!t || t.startsWith("0001-")) return "–";
  const d = new Date(t);
  return d.toLocaleTimeString() + " (" + Math.max(0, Math.round((Date.now() - d) / 1000)) + " s ago)";
}

function row(tbody, cells) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement("td");
    if (c instanceof Node) td.append(c); else td.textContent = c;
    tr.append(td);
  }
  tbody.append(tr);
  return tr;
}

async function inspect(id) {
  let u;
  try { u = await api("GET", "api/user?id=" + encodeURIComponent(id)); } catch (e) { flash(e.message); return; }
  $("user-result").hidden = false;
  $("user-name").textContent = u.id;
  const st = $("user-status");
  st.textContent = u.status;
  st.className = "status " + u.status;
  $("user-version").textContent = u.exists ? "version " + u.version : "no such account";
  $("user-custom").textContent = u.custom || "";
  $("user-platforms").textContent = (u.platforms || []).join(", ") || "none";
  const dl = u.delivered;
  $("user-delivered").textContent = !dl ? "nothing lately" :
    "version " + dl.version + (u.exists && dl.version < u.version ? " (older than the status: that change did not come here, as it should not when nobody here hears of it)" : "") + ", last at " + when(dl.at);
  $("user-listeners-p").hidden = !(u.listeners || []).length;
  $("user-listeners").textContent = (u.listeners || []).join(", ");
  const tb = document.querySelector("#user-devices tbody");
  tb.replaceChildren();
  for (const d of u.devices || []) {
    const b = document.createElement("button");
    b.className = "danger kick";
    b.dataset.device = String(d.device);
    b.textContent = "Kick";
    b.dataset.node = d.node;
    b.addEventListener("click", () => kick(u.id, d.device, d.node));
    row(tb, [String(d.device), d.platform, d.here ? d.node + " (this one)" : d.node, when(d.since), when(d.last_heartbeat), b]);
  }
  if (!(u.devices || []).length) row(tb, ["none", "", "", "", "", ""]);
  fill("user-subs", u.subscriptions, "none");
  $("user-subs-note").textContent = "oldest first: the first is evicted next (at most " + u.max_subscriptions + ")";
  fill("user-subscribers", u.subscribers, "none");
  fill("user-friends", u.friends, "none");
  fill("user-friendof", u.friend_of, "nobody");
  $("user-autonotify").textContent = u.auto_notify ? "(auto-notify on: they hear of it)" : "(auto-notify off)";
  $("user-history-note").textContent = "the last " + u.history_len + ", newest first";
  const th = document.querySelector("#user-transitions tbody");
  th.replaceChildren();
  for (const t of u.transitions || []) row(th, [when(t.at), t.event, t.platform, String(t.device), t.status]);
  if (!(u.transitions || []).length) row(th, ["none on this node", "", "", "", ""]);
}

async function kick(user, device, node) {
  try {
    await api("POST", "api/kick", device ? { user, device, node } : { user });
    flash(device ? "device " + device + " of " + user + " kicked" : "every device of " + user + " kicked");
  } catch (e) { flash("kick refused: " + e.message); }
  setTimeout(() => inspect(user), 300);
}

// --- relation check ---

async function relation(x, y) {
  let r;
  try { r = await api("GET", "api/relation?x=" + encodeURIComponent(x) + "&y=" + encodeURIComponent(y)); } catch (e) { flash(e.message); return; }
  $("rel-result").hidden = false;
  const a = $("rel-answer");
  a.textContent = (r.hears ? "yes: " : "no: ") + r.y + (r.hears ? " hears of " : " does not hear of ") + r.x + "'s changes";
  a.className = "answer " + (r.hears ? "yes" : "no");
  fill("rel-reasons", r.reasons, "");
}

// --- wiring ---

function init() {
  buildCards();
  document.querySelectorAll("input[name=mode]").forEach((r) => r.addEventListener("change", () => {
    const sig = $("mode-sig").checked;
    $("ident-row").hidden = !sig;
    $("secret-label").textContent = sig ? "UserSig" : "Secret key";
  }));
  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { sdkappid: $("login-app").value.trim() };
    if ($("mode-sig").checked) {
      body.identifier = $("login-identifier").value.trim();
      body.usersig = $("login-secret").value.trim();
    } else {
      body.key = $("login-secret").value.trim();
    }
    $("login-error").textContent = "";
    try {
      const s = await api("POST", "api/login", body);
      $("login-secret").value = "";
      started(s);
    } catch (e) { $("login-error").textContent = e.message; }
  });
  document.querySelectorAll("#nav button[data-page]").forEach((b) => b.addEventListener("click", () => show(b.dataset.page)));
  $("logout").addEventListener("click", async () => {
    try { await api("POST", "api/logout"); } catch (e) { /* gone already */ }
    showLogin("");
  });
  $("user-form").addEventListener("submit", (ev) => { ev.preventDefault(); inspect($("user-id").value.trim()); });
  $("kick-all").addEventListener("click", () => kick($("user-name").textContent, 0));
  $("import-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const r = await api("POST", "api/import", { text: $("import-text").value });
      flash("imported: " + r.imported.join(", "));
      $("import-text").value = "";
    } catch (e) { flash("import refused: " + e.message); }
  });
  $("rel-form").addEventListener("submit", (ev) => { ev.preventDefault(); relation($("rel-x").value.trim(), $("rel-y").value.trim()); });
  api("GET", "api/session").then(started, () => showLogin(""));
}

init();
