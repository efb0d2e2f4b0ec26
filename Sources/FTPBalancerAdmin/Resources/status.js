// The status page's behaviour: poll the views, then rebuild the totals and one table per virtual
// service from them. Every datum goes into the DOM through `textContent` (the `cell` and `node`
// helpers); polls never overlap, and one that fails or times out turns the status line red while
// the last good data stays, dimmed. REFRESH_MS, TIMEOUT_MS, API and VIEWS are set by the page
// (StatusPage.swift) before this script.
const $ = (id) => document.getElementById(id);

function node(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined && text !== null) element.textContent = String(text);
  return element;
}

function cell(row, text, className) {
  row.appendChild(node("td", className || "", text));
}

function bytes(count) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = Number(count) || 0;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function seconds(value) {
  const s = Math.round(Number(value) || 0);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

function clock(date) {
  return date.toTimeString().slice(0, 8);
}

function sum(values) {
  return values.reduce((total, value) => total + (Number(value) || 0), 0);
}

async function fetchView(name) {
  const signal = AbortSignal.timeout ? AbortSignal.timeout(TIMEOUT_MS) : undefined;
  // The origin, not a relative path: a page opened with user:token@ in its address would
  // otherwise put the credentials in the URL, which fetch refuses.
  const response = await fetch(location.origin + API + name, { cache: "no-store", signal });
  if (response.status === 401) throw new Error("401: the admin token is required (reload to log in)");
  if (!response.ok) throw new Error(`${response.status} ${response.statusText} on ${API}${name}`);
  return response.json();
}

/// Per virtual service and server name: the count, bytes and rate of the live data
/// connections, joined to their server through the session ids of the flows.
function serverTraffic(sessions, flows) {
  const traffic = new Map();
  const sessionServer = new Map();
  const entry = (service, server) => {
    const key = JSON.stringify([service, server]);
    if (!traffic.has(key)) traffic.set(key, { bytes: 0, rate: 0, flows: 0 });
    return traffic.get(key);
  };
  for (const session of sessions) {
    if (session.server === null) continue;
    sessionServer.set(session.id, session.server);
  }
  for (const flow of flows) {
    const server = sessionServer.get(flow.session);
    if (server === undefined) continue;
    const item = entry(flow.service, server);
    item.rate += flow.bytes_per_second || 0;
    item.bytes += (flow.bytes_to_client || 0) + (flow.bytes_to_server || 0);
    item.flows += 1;
  }
  return (service, server) => traffic.get(JSON.stringify([service, server])) ||
    { bytes: 0, rate: 0, flows: 0 };
}

function facts(items) {
  const line = node("p", "facts");
  for (const item of items) line.appendChild(node("span", "", item));
  return line;
}

function renderTotals(data) {
  const stats = data.stats.services;
  const refusals = sum(stats.map((s) => sum(Object.values(s.refusals))));
  const liveBytes = sum(data.flows.flows.map((f) => f.bytes_to_client + f.bytes_to_server));
  const relayed = sum(stats.map((s) => s.bytes_to_client + s.bytes_to_server)) + liveBytes;
  $("totals").replaceChildren(facts([
    `${data.services.services.length} virtual service${data.services.services.length === 1 ? "" : "s"}`,
    `sessions ${sum(stats.map((s) => s.sessions_active))} active, ${sum(stats.map((s) => s.sessions_total))} total`,
    `refusals ${refusals}`,
    `data connections ${data.flows.flows.length} live, ${sum(stats.map((s) => sum(Object.values(s.data_connections))))} total`,
    `relayed ${bytes(relayed)}`,
    `rate ${bytes(sum(data.flows.flows.map((f) => f.bytes_per_second)))}/s`,
  ]));
}

const COLUMNS = [
  ["Server", ""], ["Address", ""], ["State", ""], ["Health", ""], ["Sessions", "number"],
  ["Max", "number"], ["Weight", "number"], ["Data conns", "number"], ["Rate", "number"],
  ["Bytes", "number"], ["Last check", ""],
];

function serverRow(service, server, traffic) {
  const row = node("tr", "server");
  const health = server.health;
  const look = server.state !== "enabled" ? server.state : health;
  row.classList.add(look);
  if (server.backup) row.classList.add("backup");
  if (server.retired) row.classList.add("retired");
  row.dataset.service = service;
  row.dataset.server = server.name;
  const live = traffic(service, server.name);
  let state = server.state + (server.backup ? ", backup" : "") + (server.retired ? ", retired" : "");
  if (Object.keys(server.admin_override).length > 0) state += " (admin)";
  const check = server.last_check;
  cell(row, server.name, "name");
  cell(row, server.address, "address");
  cell(row, state, "state");
  cell(row, health, "health");
  cell(row, server.active_sessions, "number sessions");
  cell(row, server.max_sessions === null ? "-" : server.max_sessions, "number max");
  cell(row, server.weight, "number weight");
  cell(row, live.flows, "number flows");
  cell(row, `${bytes(live.rate)}/s`, "number rate");
  // Ended data connections, counted by the pool, and the live ones so far.
  cell(row, bytes(server.bytes_to_client + server.bytes_to_server + live.bytes), "number bytes");
  const checkText = check === null ? "-" :
    `${check.passed ? "ok" : "failed"} ${seconds(check.seconds_ago)} ago${check.passed ? "" : ": " + check.detail}`;
  cell(row, checkText, "check");
  // A long failure detail is cut on screen; the whole of it shows on hover.
  row.lastChild.title = checkText;
  return row;
}

function renderService(service, data, traffic) {
  const section = node("section", "service");
  section.dataset.service = service.name;
  section.appendChild(node("h2", "", service.name));
  section.appendChild(facts([
    `listen ${service.listen}`, `advertise ${service.advertise}`,
    `passive ports ${service.passive_ports}`, `algorithm ${service.algorithm}`,
    `client address ${service.client_address}`,
  ]));
  const stats = data.stats.services.find((s) => s.service === service.name);
  if (stats) {
    const reasons = Object.entries(stats.refusals).map(([reason, count]) => `${reason} ${count}`);
    const flows = data.flows.flows.filter((f) => f.service === service.name);
    section.appendChild(facts([
      `sessions ${stats.sessions_active} active, ${stats.sessions_total} total`,
      `refusals ${reasons.length === 0 ? "none" : reasons.join(", ")}`,
      `data connections ${Object.entries(stats.data_connections).map(([m, n]) => `${m} ${n}`).join(", ")}`,
      `relayed ${bytes(stats.bytes_to_client + stats.bytes_to_server + sum(flows.map((f) => f.bytes_to_client + f.bytes_to_server)))}`,
      `rate ${bytes(sum(flows.map((f) => f.bytes_per_second)))}/s`,
    ]));
  }
  const pool = data.pools.pools.find((p) => p.service === service.name);
  const table = node("table", "servers");
  const head = node("tr");
  for (const [title, className] of COLUMNS) head.appendChild(node("th", className, title));
  table.appendChild(node("thead")).appendChild(head);
  const body = table.appendChild(node("tbody"));
  for (const server of pool ? pool.servers : []) body.appendChild(serverRow(service.name, server, traffic));
  if (pool) section.appendChild(facts([`health check ${pool.health_check}`]));
  section.appendChild(table);
  return section;
}

function render(data) {
  renderTotals(data);
  const traffic = serverTraffic(data.sessions.sessions, data.flows.flows);
  const sections = data.services.services.map((s) => renderService(s, data, traffic));
  if (sections.length === 0) sections.push(node("p", "empty", "no virtual service is running"));
  $("services").replaceChildren(...sections);
}

let lastGood = null;
let failingSince = null;

async function poll() {
  try {
    const answers = await Promise.all(VIEWS.map(fetchView));
    const data = Object.fromEntries(VIEWS.map((name, index) => [name, answers[index]]));
    render(data);
    lastGood = new Date();
    failingSince = null;
    document.body.classList.remove("stale");
    $("status").className = "ok";
    $("status").textContent = `updated ${clock(lastGood)}`;
  } catch (error) {
    failingSince = failingSince || new Date();
    document.body.classList.add("stale");
    $("status").className = "failing";
    const reason = error && error.name === "TimeoutError" ? "no answer in time" : String(error && error.message || error);
    $("status").textContent = `the balancer is not answering since ${clock(failingSince)} (${reason})` +
      (lastGood ? `; showing the data of ${clock(lastGood)}` : "");
  } finally {
    setTimeout(poll, REFRESH_MS);
  }
}

poll();
