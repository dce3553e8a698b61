/// The live status page at `/`: one self-contained HTML file (no external script or style)
/// that fetches `/status.json` every two seconds and redraws the rack without reloading:
/// workers and their state, jobs with progress bars and ETA, queues, and images per second
/// over the last minutes. `data-*` attributes name what tests look for.
enum StatusPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>WinCLIP rack</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #1d2330; background: #f6f7f9; }
  h1 { font-size: 20px; margin: 0 0 .2em; } h2 { font-size: 16px; margin: 1.2em 0 .4em; }
  #summary { color: #555; }
  .cards { display: flex; gap: 1em; flex-wrap: wrap; margin-top: .8em; }
  .card { background: #fff; border-radius: 6px; padding: .6em 1em; box-shadow: 0 1px 2px #0002; min-width: 8em; }
  .card b { display: block; font-size: 22px; }
  table { border-collapse: collapse; background: #fff; box-shadow: 0 1px 2px #0002; }
  th, td { padding: .3em .8em; text-align: left; border-bottom: 1px solid #e3e5ea; }
  th { background: #eceef2; }
  .idle { color: #4a6; } .busy { color: #27c; font-weight: 600; } .quarantined { color: #c33; font-weight: 600; }
  .bar { width: 14em; height: .9em; background: #e3e5ea; border-radius: 3px; overflow: hidden; display: inline-block; vertical-align: middle; }
  .bar > div { height: 100%; background: #27c; }
  #chart { background: #fff; box-shadow: 0 1px 2px #0002; }
  .stale { color: #c33; }
</style>
</head>
<body>
<h1>WinCLIP rack</h1>
<div id="summary">loading…</div>
<div class="cards">
  <div class="card">workers<b id="count-workers">–</b></div>
  <div class="card">busy<b id="count-busy">–</b></div>
  <div class="card">quarantined<b id="count-quarantined">–</b></div>
  <div class="card">jobs<b id="count-jobs">–</b></div>
  <div class="card">units queued<b id="count-queued">–</b></div>
  <div class="card">images/s<b id="rate">–</b></div>
</div>
<h2>Throughput (images/s, last minutes)</h2>
<svg id="chart" width="640" height="120" viewBox="0 0 640 120"></svg>
<h2>Jobs</h2>
<table><thead><tr><th>job</th><th>client</th><th>class</th><th>phase</th><th>progress</th><th>images/s</th><th>ETA</th></tr></thead>
<tbody id="jobs"></tbody></table>
<h2>Workers</h2>
<table><thead><tr><th>name</th><th>host</th><th>model</th><th>precisions</th><th>state</th><th>units done</th><th>units/s</th><th>strikes</th><th>last seen</th></tr></thead>
<tbody id="workers"></tbody></table>
<h2>Queues</h2>
<table><thead><tr><th>model</th><th>fingerprint</th><th>units waiting</th></tr></thead>
<tbody id="queues"></tbody></table>
<script>
"use strict";
const esc = s => String(s).replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const dur = s => s == null ? "–" : s < 90 ? Math.round(s) + " s" : s < 5400 ? Math.round(s / 60) + " min" : (s / 3600).toFixed(1) + " h";
const num = x => x >= 100 ? x.toFixed(0) : x.toFixed(2);
function row(cells, attrs) { return "<tr " + (attrs || "") + ">" + cells.map(c => "<td>" + c + "</td>").join("") + "</tr>"; }
function draw(status) {
  const w = status.workers, j = status.jobs;
  const count = state => w.filter(x => x.state === state).length;
  document.getElementById("count-workers").textContent = w.length;
  document.getElementById("count-busy").textContent = count("busy");
  document.getElementById("count-quarantined").textContent = count("quarantined");
  document.getElementById("count-jobs").textContent = j.length;
  document.getElementById("count-queued").textContent = status.queues.reduce((a, q) => a + q.units, 0);
  const t = status.throughput, last = t.length ? t[t.length - 1].imagesPerSecond : 0;
  document.getElementById("rate").textContent = num(last);
  document.getElementById("summary").textContent = "coordinator up " + dur(status.uptime) + "; updated " + new Date(status.time * 1000).toLocaleTimeString();
  document.getElementById("jobs").innerHTML = j.length ? j.map(x => {
    const pct = x.total ? 100 * x.done / x.total : 0;
    return row([x.job, esc(x.client), esc(x.className), x.phase.replace(/_/g, " "),
      '<span class="bar"><div style="width:' + pct.toFixed(1) + '%"></div></span> ' + x.done + " / " + x.total + (x.failed ? " (" + x.failed + " failed)" : ""),
      num(x.imagesPerSecond), dur(x.etaSeconds)], 'data-job="' + x.job + '"');
  }).join("") : row(["no job running", "", "", "", "", "", ""]);
  document.getElementById("workers").innerHTML = w.length ? w.map(x => row([esc(x.name), esc(x.host), esc(x.model), esc(x.precisions.join(", ")),
      '<span class="' + x.state + '">' + x.state + "</span>", x.unitsDone, num(x.unitsPerSecond), x.strikes, dur(x.lastSeenSecondsAgo) + " ago"],
      'data-worker="' + esc(x.name) + '" data-state="' + x.state + '"')).join("") : row(["no worker connected", "", "", "", "", "", "", "", ""]);
  document.getElementById("queues").innerHTML = status.queues.map(q => row([esc(q.model), esc(q.fingerprint), q.units])).join("") || row(["nothing queued", "", ""]);
  const svg = document.getElementById("chart");
  if (t.length < 2) { svg.innerHTML = '<text x="10" y="60" fill="#888">collecting (one point per 10 s)…</text>'; return; }
  const max = Math.max(1e-9, ...t.map(p => p.imagesPerSecond)), t0 = t[0].time, span = Math.max(1, t[t.length - 1].time - t0);
  const pts = t.map(p => (10 + 620 * (p.time - t0) / span).toFixed(1) + "," + (110 - 100 * p.imagesPerSecond / max).toFixed(1)).join(" ");
  svg.innerHTML = '<polyline fill="none" stroke="#27c" stroke-width="2" points="' + pts + '"/><text x="12" y="14" fill="#888">' + num(max) + " images/s</text>";
}
async function refresh() {
  try {
    const r = await fetch("status.json", {cache: "no-store"});
    draw(await r.json());
    document.body.dataset.loaded = "yes";
  } catch (e) {
    document.getElementById("summary").innerHTML = '<span class="stale">coordinator unreachable: ' + esc(e) + "</span>";
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
"""#
}
