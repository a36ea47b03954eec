// The eirini web UI: a thin client of the same CF V3 API the CLI uses.
// Rule: data from the API reaches the page only as text (textContent, append of strings), never as HTML;
// /ui is served with a Content-Security-Policy that allows no inline script either.
const $ = (id) => document.getElementById(id);
const state = { token: sessionStorage.getItem("eirini.token"), root: null, space: sessionStorage.getItem("eirini.space"), selected: null };

// CF's names for the role types (as `cf org-users` / `cf space-users` print them).
const ROLE_NAMES = {
  organization_manager: "OrgManager", organization_auditor: "OrgAuditor", organization_billing_manager: "BillingManager", organization_user: "OrgUser",
  space_manager: "SpaceManager", space_developer: "SpaceDeveloper", space_auditor: "SpaceAuditor", space_supporter: "SpaceSupporter",
};

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
  sessionStorage.removeItem("eirini.space");
  state.token = null;
  state.space = null;
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

// The spaces this user may see, grouped by org (the API lists only those); the choice is kept for the session.
async function renderSpaces() {
  const res = await api("/v3/spaces?per_page=5000&order_by=name&include=organization");
  const orgs = new Map((res.included?.organizations ?? []).map((o) => [o.guid, o.name]));
  const groups = new Map();
  for (const s of res.resources) {
    const org = s.relationships.organization.data.guid;
    if (!groups.has(org)) {
      const g = document.createElement("optgroup");
      g.label = orgs.get(org) ?? org;
      groups.set(org, g);
    }
    const o = document.createElement("option");
    o.value = s.guid;
    o.textContent = `${orgs.get(org) ?? org} / ${s.name}`;
    groups.get(org).append(o);
  }
  const select = $("space-select");
  select.replaceChildren(...[...groups.values()].sort((a, b) => a.label.localeCompare(b.label)));
  if (!res.resources.some((s) => s.guid === state.space)) state.space = res.resources[0]?.guid ?? null;
  if (state.space) select.value = state.space;
  await renderRole();
}

async function renderRole() {
  const scopes = claims().scope ?? [];
  const global = scopes.includes("cloud_controller.admin") ? "Admin" : scopes.includes("cloud_controller.admin_read_only") ? "AdminReadOnly" : scopes.includes("cloud_controller.global_auditor") ? "GlobalAuditor" : null;
  let names = global ? [global] : [];
  if (!global && state.space) {
    const me = claims().user_id;
    const space = await api(`/v3/spaces/${state.space}`);
    const org = space.relationships.organization.data.guid;
    const [inSpace, inOrg] = await Promise.all([api(`/v3/roles?user_guids=${me}&space_guids=${state.space}`), api(`/v3/roles?user_guids=${me}&organization_guids=${org}`)]);
    names = [...inOrg.resources, ...inSpace.resources].map((r) => ROLE_NAMES[r.type] ?? r.type);
  }
  $("role").textContent = names.join(", ") || "none";
}

async function renderApps() {
  if (!state.space) { $("app-rows").replaceChildren(); $("no-apps").hidden = false; $("no-apps").textContent = "No space you can see."; return; }
  const apps = (await api(`/v3/apps?per_page=200&order_by=name&space_guids=${state.space}`)).resources;
  const rows = await Promise.all(apps.map(appRow));
  $("app-rows").replaceChildren(...rows);
  $("no-apps").textContent = "No apps yet.";
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
  if (loggedIn) await renderSpaces().then(renderApps).catch((e) => ($("no-apps").hidden = false, $("no-apps").textContent = e.message));
}

$("login").addEventListener("submit", login);
$("logout").addEventListener("click", logout);
$("space-select").addEventListener("change", async (ev) => {
  state.space = ev.target.value;
  state.selected = null;
  $("detail").hidden = true;
  sessionStorage.setItem("eirini.space", state.space);
  await renderRole();
  await renderApps();
});
render();
setInterval(() => state.token && renderApps().catch(() => {}), 3000);
