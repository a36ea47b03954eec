// The eirini web UI: a thin client of the same CF V3 API the CLI uses.
// Rule: data from the API reaches the page only as text (textContent, append of strings), never as HTML;
// /ui is served with a Content-Security-Policy that allows no inline script either.
const $ = (id) => document.getElementById(id);
const state = { token: sessionStorage.getItem("eirini.token"), root: null, space: null, selected: null };

async function api(path, init = {}) {
  const res = await fetch(path, { ...init, headers: { accept: "application/json", authorization: `bearer ${state.token}`, ...(init.body ? { "content-type": "application/json" } : {}), ...init.headers } });
  if (res.status === 401) { logout(); throw new Error("session expired"); }
  const body = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.errors?.[0]?.detail ?? `HTTP ${res.status}`);
  return body;
}

function logout() {
  // Ends the session on the server too (RFC 7009 revoke): its tokens stop working everywhere.
  const uaa = state.root?.links?.login?.href ?? state.root?.links?.uaa?.href;
  if (state.token && uaa) fetch(`${uaa}/oauth/revoke`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token: state.token }) }).catch(() => {});
  sessionStorage.removeItem("eirini.token");
  state.token = null;
  render();
}

async function login(ev) {
  ev.preventDefault();
  const form = new FormData(ev.target);
  const uaa = state.root.links.login?.href ?? state.root.links.uaa.href;
  const res = await fetch(`${uaa}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${btoa("cf:")}`, accept: "application/json" },
    body: new URLSearchParams({ grant_type: "password", username: form.get("username"), password: form.get("password") }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) { $("login-error").textContent = body.error_description ?? "login failed"; return; }
  state.token = body.access_token;
  sessionStorage.setItem("eirini.token", state.token);
  $("login-error").textContent = "";
  render();
}

function claims() {
  try { return JSON.parse(atob(state.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))); } catch { return {}; }
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

async function appRow(app) {
  const tr = document.createElement("tr");
  tr.dataset.app = app.name;
  const procs = (await api(`/v3/apps/${app.guid}/processes`)).resources;
  const web = procs.find((p) => p.type === "web");
  const stats = web && web.instances > 0 ? (await api(`/v3/processes/${web.guid}/stats`)).resources : [];
  const routes = (await api(`/v3/apps/${app.guid}/routes`)).resources;
  const name = document.createElement("td");
  const link = document.createElement("a");
  link.className = "app-link";
  link.textContent = app.name;
  link.onclick = () => { state.selected = app; showDetail(); };
  name.append(link);
  tr.append(name, cell(app.state.toLowerCase(), `state-${app.state.toLowerCase()}`));
  tr.append(cell(`${stats.filter((s) => s.state === "RUNNING").length}/${web?.instances ?? 0}`, "instances"));
  const rt = document.createElement("td");
  for (const r of routes) {
    const a = document.createElement("a");
    a.href = `http://${r.url}${location.port ? ":" + location.port : ""}/`;
    a.textContent = r.url;
    a.target = "_blank";
    rt.append(a, " ");
  }
  tr.append(rt);
  const actions = document.createElement("td");
  const button = (label, fn) => { const b = document.createElement("button"); b.textContent = label; b.onclick = async () => { await fn(); await renderApps(); }; actions.append(b, " "); };
  if (web) {
    button("+1", () => api(`/v3/processes/${web.guid}/actions/scale`, { method: "POST", body: JSON.stringify({ instances: web.instances + 1 }) }));
    button("-1", () => api(`/v3/processes/${web.guid}/actions/scale`, { method: "POST", body: JSON.stringify({ instances: Math.max(0, web.instances - 1) }) }));
  }
  button(app.state === "STARTED" ? "Stop" : "Start", () => api(`/v3/apps/${app.guid}/actions/${app.state === "STARTED" ? "stop" : "start"}`, { method: "POST" }));
  button("Restart", () => api(`/v3/apps/${app.guid}/actions/restart`, { method: "POST" }));
  tr.append(actions);
  return tr;
}

async function renderApps() {
  const apps = (await api(`/v3/apps?per_page=200&order_by=name`)).resources;
  const rows = await Promise.all(apps.map(appRow));
  $("app-rows").replaceChildren(...rows);
  $("no-apps").hidden = apps.length > 0;
  if (state.selected) await showDetail();
}

async function showDetail() {
  const app = state.selected;
  $("detail").hidden = false;
  $("detail-name").textContent = app.name;
  const procs = (await api(`/v3/apps/${app.guid}/processes`)).resources;
  const list = document.createElement("ul");
  for (const p of procs) {
    const stats = p.instances > 0 ? (await api(`/v3/processes/${p.guid}/stats`)).resources : [];
    for (const s of stats) {
      // Every field here is user-controlled (process types come from manifests): text only, never HTML.
      const li = document.createElement("li");
      const state = document.createElement("span");
      state.className = `state-${String(s.state).toLowerCase().replace(/[^a-z]/g, "")}`;
      state.textContent = s.state;
      li.append(`${p.type} #${s.index} `, state, ` ${s.uptime ? `up ${s.uptime}s` : ""} ${s.details ?? ""}`);
      list.append(li);
    }
  }
  $("instances").replaceChildren(list);
  const logCache = state.root.links.log_cache?.href ?? "";
  const logs = await api(`${logCache}/api/v1/read/${app.guid}?envelope_types=LOG&descending=true&limit=100`).catch(() => null);
  const lines = (logs?.envelopes?.batch ?? []).reverse().map((e) => `[${e.tags?.source_type ?? ""}${e.instance_id ? "/" + e.instance_id : ""}] ${atob(e.log?.payload ?? "")}`);
  $("logs").textContent = lines.join("\n");
}

async function render() {
  state.root ??= await (await fetch("/")).json();
  const loggedIn = Boolean(state.token);
  $("login").hidden = loggedIn;
  $("apps").hidden = !loggedIn;
  $("logout").hidden = !loggedIn;
  $("detail").hidden = !loggedIn || !state.selected;
  $("who").textContent = loggedIn ? claims().user_name ?? "" : "";
  if (loggedIn) await renderApps().catch((e) => ($("no-apps").hidden = false, $("no-apps").textContent = e.message));
}

$("login").addEventListener("submit", login);
$("logout").addEventListener("click", logout);
render();
setInterval(() => state.token && renderApps().catch(() => {}), 3000);
