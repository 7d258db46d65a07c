// Haq ops dashboard: live updates over server-sent events, local times and ticking countdowns.
// No framework and no build step; Chart.js (vendored UMD build) on the charts page only.
"use strict";

const page = document.body.dataset.page;
const MAX_FLOW_ROWS = 200;

function debounce(fn, ms) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

function pad(n) { return String(n).padStart(2, "0"); }

function localTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const today = new Date();
  if (d.toDateString() === today.toDateString()) return time;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

function formatTimes(root) {
  root.querySelectorAll("time[datetime]").forEach((el) => {
    const iso = el.getAttribute("datetime");
    if (!iso || iso === "None") return;
    el.textContent = localTime(iso);
    el.title = iso;
  });
}

function duration(seconds) {
  const span = Math.floor(Math.abs(seconds));
  const d = Math.floor(span / 86400), h = Math.floor((span % 86400) / 3600);
  const m = Math.floor((span % 3600) / 60), s = span % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${pad(m)}m`;
  return `${m}m ${pad(s)}s`;
}

function tickCountdowns() {
  const now = Date.now();
  document.querySelectorAll(".countdown[data-due]").forEach((el) => {
    const due = Date.parse(el.dataset.due);
    if (Number.isNaN(due)) return;
    const left = (due - now) / 1000;
    el.textContent = left >= 0 ? duration(left) : `${duration(left)} overdue`;
    el.classList.toggle("overdue", left < 0);
  });
}

function cell(text, attrs = {}) {
  const td = document.createElement("td");
  if (text instanceof Node) td.appendChild(text); else td.textContent = text ?? "";
  for (const [k, v] of Object.entries(attrs)) td.setAttribute(k, v);
  return td;
}

function badge(text, cls) {
  const span = document.createElement("span");
  span.className = `badge ${cls}`;
  span.textContent = text;
  return span;
}

function flowRow(e) {
  const tr = document.createElement("tr");
  tr.dataset.complaint = e.complaint_id;
  tr.dataset.type = e.type;
  if (e.stage) tr.dataset.stage = e.stage;
  const time = document.createElement("time");
  time.setAttribute("datetime", e.time);
  time.textContent = localTime(e.time);
  const link = document.createElement("a");
  link.href = `/complaints/${encodeURIComponent(e.complaint_id)}`;
  link.dir = "ltr";
  link.textContent = e.reference || e.complaint_id.slice(0, 8);
  tr.append(
    cell(time),
    cell(e.stage ? badge(e.stage, `stage-${e.stage}`) : ""),
    cell(e.type),
    cell(link),
    cell(e.sector),
    cell(e.channel),
    cell(e.team, { dir: "auto" }),
    cell(e.owner, { dir: "auto" }),
    cell(e.priority ? badge(e.priority, `prio-${e.priority}`) : ""),
    cell(e.summary, { dir: "auto", class: "summary" }),
  );
  return tr;
}

async function fetchSummary() {
  const resp = await fetch("/api/summary", { headers: { accept: "application/json" } });
  if (!resp.ok) throw new Error(`summary: HTTP ${resp.status}`);
  return resp.json();
}

const refreshCounters = debounce(async () => {
  const data = await fetchSummary();
  for (const [stage, n] of Object.entries(data.stages)) {
    const el = document.querySelector(`[data-stage-count="${stage}"]`);
    if (el) el.textContent = n;
  }
  const risk = document.querySelector('[data-count="at_risk"]');
  if (risk) risk.textContent = data.at_risk.length;
  const breached = document.querySelector('[data-count="breached"]');
  if (breached) breached.textContent = data.breached.length;
}, 400);

// Pages rendered on the server refresh by fetching themselves and swapping <main>.
const refreshMain = debounce(async () => {
  const resp = await fetch(window.location.href, { headers: { accept: "text/html" } });
  if (!resp.ok) return;
  const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
  const fresh = doc.querySelector("main");
  if (!fresh) return;
  document.querySelector("main").replaceWith(fresh);
  formatTimes(fresh);
  tickCountdowns();
}, 700);

const charts = {};
const PALETTE = ["#1f5fbf", "#6a3fb5", "#1e7d8c", "#a35c00", "#1e7d45", "#b3261e", "#5b6472"];

function barChart(id, labels, values, label) {
  const el = document.getElementById(id);
  if (!el || !window.Chart) return;
  if (charts[id]) {
    charts[id].data.labels = labels;
    charts[id].data.datasets[0].data = values;
    charts[id].update();
    return;
  }
  charts[id] = new window.Chart(el, {
    type: "bar",
    data: { labels, datasets: [{ label, data: values, backgroundColor: labels.map((_, i) => PALETTE[i % PALETTE.length]) }] },
    options: { maintainAspectRatio: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
}

function complianceChart(c) {
  const el = document.getElementById("chart-compliance");
  if (!el || !window.Chart) return;
  const labels = c.labels.map((iso) => localTime(iso));
  const note = document.getElementById("compliance-bucket");
  if (note) note.textContent = c.bucket_s ? `(per ${duration(c.bucket_s).replace(/ 0+s$/, "").replace(/ 00m$/, "")})` : "(no clock has stopped yet)";
  const datasets = [
    { type: "bar", label: "met", data: c.met, backgroundColor: "#1e7d45", stack: "n", yAxisID: "y" },
    { type: "bar", label: "breached", data: c.breached, backgroundColor: "#b3261e", stack: "n", yAxisID: "y" },
    { type: "line", label: "% met", data: c.compliance, borderColor: "#1f5fbf", backgroundColor: "#1f5fbf", yAxisID: "pct", spanGaps: true },
  ];
  if (charts.compliance) {
    charts.compliance.data.labels = labels;
    charts.compliance.data.datasets.forEach((ds, i) => { ds.data = datasets[i].data; });
    charts.compliance.update();
    return;
  }
  charts.compliance = new window.Chart(el, {
    data: { labels, datasets },
    options: {
      maintainAspectRatio: false,
      scales: {
        y: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "clocks" } },
        pct: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false }, title: { display: true, text: "% met" } },
        x: { stacked: true },
      },
    },
  });
}

// CSAT rows (one per team, sector and channel) folded to the chosen dimension, weighted by ratings.
function csatBy(rows, key) {
  const groups = {};
  for (const r of rows) {
    const g = (groups[r[key] || "unknown"] ||= { n: 0, sum: 0, satisfied: 0 });
    g.n += r.ratings; g.sum += r.mean * r.ratings; g.satisfied += r.satisfied_share * r.ratings;
  }
  const labels = Object.keys(groups).sort();
  return {
    labels,
    mean: labels.map((k) => +(groups[k].sum / groups[k].n).toFixed(2)),
    share: labels.map((k) => Math.round((100 * groups[k].satisfied) / groups[k].n)),
    n: labels.reduce((t, k) => t + groups[k].n, 0),
  };
}

let csatRows = [];
function csatChart() {
  const el = document.getElementById("chart-csat");
  if (!el || !window.Chart) return;
  const by = document.getElementById("csat-by")?.value || "team";
  const c = csatBy(csatRows, by);
  const note = document.getElementById("csat-note");
  if (note) note.textContent = c.n ? `(${c.n} rating${c.n === 1 ? "" : "s"})` : "(no rating yet)";
  if (charts.csat) {
    charts.csat.data.labels = c.labels;
    charts.csat.data.datasets[0].data = c.mean;
    charts.csat.data.datasets[1].data = c.share;
    charts.csat.update();
    return;
  }
  charts.csat = new window.Chart(el, {
    data: {
      labels: c.labels,
      datasets: [
        { type: "bar", label: "mean rating", data: c.mean, backgroundColor: "#1f5fbf", yAxisID: "y" },
        { type: "line", label: "% rated 4-5", data: c.share, borderColor: "#1e7d45", backgroundColor: "#1e7d45", yAxisID: "pct" },
      ],
    },
    options: {
      maintainAspectRatio: false,
      animation: false,
      scales: {
        y: { min: 0, max: 5, title: { display: true, text: "mean (1-5)" } },
        pct: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false }, title: { display: true, text: "% rated 4-5" } },
      },
    },
  });
}

async function refreshCsat() {
  try {
    const resp = await fetch("/api/csat", { headers: { Accept: "application/json" } });
    if (resp.ok) csatRows = (await resp.json()).rows || [];
  } catch (err) { /* the next refresh tries again */ }
  csatChart();
}
document.getElementById("csat-by")?.addEventListener("change", csatChart);

const refreshCharts = debounce(async () => {
  const data = await fetchSummary();
  barChart("chart-sector", Object.keys(data.by_sector), Object.values(data.by_sector), "complaints");
  barChart("chart-channel", Object.keys(data.by_channel), Object.values(data.by_channel), "complaints");
  const fr = data.first_response;
  barChart("chart-first-response", fr.labels, fr.counts, "complaints");
  const median = document.getElementById("first-response-median");
  if (median) median.textContent = fr.samples ? `(median ${duration(fr.median_s)}, ${fr.samples} answered)` : "(no first response yet)";
  complianceChart(data.compliance);
  refreshCsat();
}, 500);

function onFlowEvent(e) {
  if (page === "flow") {
    const body = document.querySelector("#flow tbody");
    const row = flowRow(e);
    row.classList.add("new");
    body.prepend(row);
    while (body.rows.length > MAX_FLOW_ROWS) body.deleteRow(body.rows.length - 1);
    document.getElementById("flow-empty")?.setAttribute("hidden", "");
    refreshCounters();
  } else if (page === "sla" || page === "queues") {
    refreshMain();
  } else if (page === "charts") {
    refreshCharts();
  } else if (page === "complaint") {
    const id = document.getElementById("complaint")?.dataset.complaint;
    if (id && e.complaint_id === id) refreshMain();
  }
}

function connect() {
  const status = document.getElementById("live");
  const table = document.getElementById("flow");
  const after = table ? table.dataset.lastSeq : "";
  const source = new EventSource(after ? `/events?after=${after}` : "/events");
  source.addEventListener("open", () => { status.dataset.state = "live"; status.textContent = "live"; });
  source.addEventListener("error", () => { status.dataset.state = "down"; status.textContent = "reconnecting…"; });
  source.addEventListener("flow", (msg) => onFlowEvent(JSON.parse(msg.data)));
}

const stagesOnly = document.getElementById("stages-only");
if (stagesOnly) {
  stagesOnly.addEventListener("change", () => document.getElementById("flow").classList.toggle("stages-only", stagesOnly.checked));
}
formatTimes(document);
tickCountdowns();
setInterval(tickCountdowns, 1000);
if (page === "charts") refreshCharts();
// SLA lists change with time as well as with events: clocks cross 75% without any event.
if (page === "sla") setInterval(refreshMain, 15000);
connect();
