/**
 * The app's static assets, kept in the code (no files to copy next to dist/): the stylesheet
 * (the report's, plus the app's navigation, status badges and forms), the one client script, and
 * the icon.
 */
import { REPORT_CSS } from '../report/style.js';
import { formatPercent } from '../report/format.js';
import { formatDuration } from '../train/progress.js';

/** /assets/app.css */
export const APP_CSS = `${REPORT_CSS}
nav.app { display: flex; gap: 18px; align-items: baseline; border-bottom: 1px solid #d0d7de; padding-bottom: 8px; }
nav.app a[aria-current="page"] { font-weight: 600; text-decoration: none; color: #1f2328; }
.status { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 0.85em; font-weight: 600; background: #eaeef2; }
.status.running { background: #ddf4ff; color: #0550ae; }
.status.done { background: #dafbe1; color: #116329; }
.status.failed { background: #ffebe9; color: #a40e26; }
.error { color: #a40e26; }
.empty { color: #57606a; font-style: italic; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; }
dl.facts dt { color: #57606a; }
dl.facts dd { margin: 0; }
pre.lines { max-height: 22em; }
pre.lines:empty { display: none; }
table.progress progress { width: 120px; }
form.compare fieldset { border: 1px solid #d0d7de; border-radius: 6px; margin: 10px 0; }
form.compare label.pick { display: block; }
form.compare label.pick-inline { white-space: nowrap; margin-right: 12px; }
button { font: inherit; padding: 3px 14px; }
figure.chart svg { display: block; }
#curves { display: flex; flex-wrap: wrap; gap: 4px 18px; }
#curves > p { flex-basis: 100%; margin: 4px 0; }
figure.curve { margin: 4px 0; }
figure.curve figcaption { font-weight: 600; font-size: 0.9em; }
th button.sort { font: inherit; font-weight: 600; background: none; border: 0; padding: 0; cursor: pointer; color: inherit; }
th[aria-sort="ascending"] button.sort::after { content: ' ▲' / ''; }
th[aria-sort="descending"] button.sort::after { content: ' ▼' / ''; }
td.metric { white-space: nowrap; }
#runs { overflow-x: auto; }
table.runs td:first-child { white-space: nowrap; }
p.table-tools input { font: inherit; min-width: 22em; }
`;

/** /favicon.svg (also answered for /favicon.ico, so a browser never logs a 404 for it). */
export const FAVICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0969da"/>' +
  '<path d="M3 12h2V7H3zm4 0h2V4H7zm4 0h2V9h-2z" fill="#fff"/></svg>';

/**
 * /assets/app.js: refreshes the live parts (`[data-live]`: the experiments and runs tables; each
 * re-fetches its URL every 1.5 s and swaps the HTML when it changed), sorts the runs table by a
 * clicked header and filters it by the text box above it (kept across refreshes), follows a run
 * (`#progress[data-events]`: an EventSource on the run's server-sent events; 'progress' events
 * update one row per job, the printed lines and, for finished epochs, the training curves;
 * 'status' events the status badge, 'end' closes the stream and reloads a run that finished while
 * watched, so its metric rows show), draws the training curves (`#curves[data-curves]`: one
 * inline SVG per job, loss and accuracy per epoch) and refreshes the run's ETA. Percentages and
 * durations go through the same functions as the terminal's (src/train/progress.ts), inlined.
 */
export const APP_JS = `'use strict';
(function () {
  var formatPercent = ${formatPercent.toString()};
  var formatDuration = ${formatDuration.toString()};

  // ---- Sorting and filtering the runs table (state kept across live refreshes) ----
  var sortState = null;
  var sortValue = function (td) {
    return td ? td.getAttribute('data-sort') : null;
  };
  var applySort = function (table) {
    if (!table || !sortState) return;
    var ths = table.querySelectorAll('thead th');
    var col = -1;
    for (var i = 0; i < ths.length; i++) {
      ths[i].setAttribute('aria-sort', 'none');
      if (ths[i].textContent === sortState.key) col = i;
    }
    if (col < 0) return;
    ths[col].setAttribute('aria-sort', sortState.dir);
    var numeric = ths[col].getAttribute('data-type') === 'num';
    var tbody = table.tBodies[0];
    var rows = Array.prototype.slice.call(tbody.rows);
    var sign = sortState.dir === 'ascending' ? 1 : -1;
    rows.sort(function (a, b) {
      var x = sortValue(a.cells[col]);
      var y = sortValue(b.cells[col]);
      var ex = x === null || x === '';
      var ey = y === null || y === '';
      if (ex || ey) return ex === ey ? 0 : ex ? 1 : -1; // no value: always last
      if (numeric) return sign * (parseFloat(x) - parseFloat(y));
      return sign * x.localeCompare(y, undefined, { numeric: true });
    });
    rows.forEach(function (r) { tbody.appendChild(r); });
  };
  var filterBox = document.querySelector('input[data-filter]');
  var applyFilter = function () {
    if (!filterBox) return;
    var table = document.querySelector(filterBox.getAttribute('data-filter'));
    if (!table) return;
    var terms = filterBox.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var rows = table.tBodies[0].rows;
    var shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var text = rows[i].textContent.toLowerCase();
      var ok = terms.every(function (t) { return text.indexOf(t) >= 0; });
      rows[i].hidden = !ok;
      if (ok) shown++;
    }
    var count = document.getElementById('runs-filter-count');
    if (count) count.textContent = terms.length ? shown + ' of ' + rows.length + ' runs' : '';
  };
  if (filterBox) filterBox.addEventListener('input', applyFilter);
  document.addEventListener('click', function (ev) {
    var b = ev.target && ev.target.closest ? ev.target.closest('th button.sort') : null;
    if (!b) return;
    var key = b.textContent;
    sortState = { key: key, dir: sortState && sortState.key === key && sortState.dir === 'ascending' ? 'descending' : 'ascending' };
    applySort(b.closest('table'));
  });

  // ---- Live parts ----
  Array.prototype.forEach.call(document.querySelectorAll('[data-live]'), function (live) {
    var url = live.getAttribute('data-live');
    var last = live.innerHTML;
    var tick = function () {
      fetch(url, { headers: { accept: 'text/html' } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html !== null && html !== last) {
            last = html;
            // Same header: only the rows are replaced, so a focused sort button keeps its focus.
            var next = document.createElement('template');
            next.innerHTML = html;
            var oldHead = live.querySelector('table.runs > thead');
            var newHead = next.content.querySelector('table.runs > thead');
            if (oldHead && newHead && oldHead.innerHTML.replace(/ aria-sort="[a-z]+"/g, '') === newHead.innerHTML.replace(/ aria-sort="[a-z]+"/g, '')) {
              var oldTable = oldHead.parentNode;
              var newTable = newHead.parentNode;
              oldTable.replaceChild(newTable.tBodies[0], oldTable.tBodies[0]);
              oldTable.setAttribute('data-runs', newTable.getAttribute('data-runs'));
              while (oldTable.nextSibling) oldTable.parentNode.removeChild(oldTable.nextSibling);
              while (newTable.nextSibling) oldTable.parentNode.appendChild(newTable.nextSibling);
            } else live.innerHTML = html;
            var t = live.querySelector('table.runs');
            if (t) { applySort(t); applyFilter(); }
          }
        })
        .catch(function () {})
        .then(function () { setTimeout(tick, 1500); });
    };
    setTimeout(tick, 1500);
  });

  // ---- Training curves: one SVG per job, loss and accuracy per epoch ----
  var NS = 'http://www.w3.org/2000/svg';
  var curvesBox = document.getElementById('curves');
  var jobs = {};
  var jobOrder = [];
  var figures = {};
  var pending = {};
  var el = function (tag, attrs, parent, text) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  };
  var niceMax = function (v) {
    if (!(v > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
    return 10 * p;
  };
  var W = 224, H = 180, L = 42, R = 8, T = 22, B = 32;
  var panel = function (svg, x0, label, title, series, yMax, fmt, epochs) {
    var g = el('g', { transform: 'translate(' + x0 + ',0)' }, svg);
    el('text', { x: L, y: 14, 'font-size': 12, 'font-weight': 600 }, g, title);
    var lx = L + title.length * 7 + 8;
    series.forEach(function (s) {
      el('text', { x: lx, y: 14, 'font-size': 11, fill: s.color }, g, '— ' + s.name);
      lx += s.name.length * 6 + 24;
    });
    var pw = W - L - R, ph = H - T - B;
    var xs = function (ep) { return L + (epochs <= 1 ? pw / 2 : ((ep - 1) / (epochs - 1)) * pw); };
    var ys = function (v) { return T + ph - (v / yMax) * ph; };
    el('line', { x1: L, y1: T + ph, x2: L + pw, y2: T + ph, stroke: '#57606a' }, g);
    el('line', { x1: L, y1: T, x2: L, y2: T + ph, stroke: '#57606a' }, g);
    [0, 0.5, 1].forEach(function (f) {
      var v = f * yMax;
      el('line', { x1: L, y1: ys(v), x2: L + pw, y2: ys(v), stroke: '#d0d7de', 'stroke-dasharray': '2,3' }, g);
      el('text', { x: L - 4, y: ys(v) + 4, 'font-size': 10, 'text-anchor': 'end' }, g, fmt(v));
    });
    var ticks = epochs <= 1 ? [1] : [1, Math.round((1 + epochs) / 2), epochs].filter(function (v, i, a) { return a.indexOf(v) === i; });
    ticks.forEach(function (ep) {
      el('text', { x: xs(ep), y: T + ph + 14, 'font-size': 10, 'text-anchor': 'middle' }, g, String(ep));
    });
    el('text', { x: L + pw / 2, y: H - 4, 'font-size': 10, 'text-anchor': 'middle', fill: '#57606a' }, g, 'epoch');
    series.forEach(function (s) {
      var pts = s.points.filter(function (p) { return p.v !== null && p.v !== undefined; });
      if (pts.length > 1)
        el('polyline', { points: pts.map(function (p) { return xs(p.epoch) + ',' + ys(Math.min(p.v, yMax)); }).join(' '),
          fill: 'none', stroke: s.color, 'stroke-width': 1.5 }, g);
      pts.forEach(function (p) {
        var c = el('circle', { cx: xs(p.epoch), cy: ys(Math.min(p.v, yMax)), r: 3, fill: s.color, 'data-series': s.name }, g);
        el('title', {}, c, label + ': epoch ' + p.epoch + ', ' + s.name + ' ' + fmt(p.v, true));
      });
    });
  };
  var draw = function (label) {
    pending[label] = false;
    var job = jobs[label];
    var pts = Object.keys(job.points).map(Number).sort(function (a, b) { return a - b; }).map(function (k) { return job.points[k]; });
    var fig = figures[label];
    if (!fig) {
      fig = document.createElement('figure');
      fig.className = 'chart curve';
      fig.setAttribute('data-job', label);
      var cap = document.createElement('figcaption');
      cap.textContent = label;
      fig.appendChild(cap);
      var before = null;
      for (var i = jobOrder.indexOf(label) + 1; i < jobOrder.length && !before; i++) before = figures[jobOrder[i]] || null;
      curvesBox.insertBefore(fig, before);
      figures[label] = fig;
      var empty = curvesBox.querySelector('.no-curves');
      if (empty) empty.remove();
    }
    var epochs = Math.max(job.epochs || 0, pts.length ? pts[pts.length - 1].epoch : 1);
    var svg = el('svg', { width: 2 * W, height: H, viewBox: '0 0 ' + 2 * W + ' ' + H, role: 'img' });
    el('title', {}, svg, label + ': loss and accuracy per epoch');
    var lossMax = niceMax(Math.max.apply(null, pts.map(function (p) { return p.loss || 0; }).concat([0])));
    var num = function (v, exact) { return exact ? v.toFixed(4) : String(+v.toPrecision(3)); };
    panel(svg, 0, label, 'loss', [{ name: 'training', color: '#0969da', points: pts.map(function (p) { return { epoch: p.epoch, v: p.loss }; }) }],
      lossMax, num, epochs);
    panel(svg, W, label, 'accuracy', [
      { name: 'training', color: '#0969da', points: pts.map(function (p) { return { epoch: p.epoch, v: p.accuracy }; }) },
      { name: 'eval', color: '#bf3989', points: pts.map(function (p) { return { epoch: p.epoch, v: p.evalAccuracy }; }) },
    ], 1, function (v) { return formatPercent(v); }, epochs);
    var old = fig.querySelector('svg');
    if (old) fig.replaceChild(svg, old); else fig.insertBefore(svg, fig.firstChild);
    fig.setAttribute('data-epochs', String(pts.length));
    var total = 0;
    for (var k in jobs) total += Object.keys(jobs[k].points).length;
    curvesBox.setAttribute('data-points', String(total));
  };
  var addPoint = function (label, epochs, p) {
    var job = jobs[label];
    if (!job) { job = jobs[label] = { epochs: 0, points: {} }; jobOrder.push(label); }
    job.epochs = Math.max(job.epochs, epochs || 0);
    if (p) job.points[p.epoch] = p;
    if (p && !pending[label]) {
      pending[label] = true;
      requestAnimationFrame(function () { draw(label); });
    }
  };
  var loadCurves = curvesBox
    ? fetch(curvesBox.getAttribute('data-curves'))
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (list) {
          list.forEach(function (c) {
            addPoint(c.label, c.epochs, null);
            c.points.forEach(function (p) { addPoint(c.label, c.epochs, p); });
          });
          curvesBox.setAttribute('data-loaded', 'true');
        })
        .catch(function () {})
    : Promise.resolve();

  // ---- The run's ETA ----
  var eta = document.getElementById('run-eta');
  if (eta) {
    var etaTick = function () {
      fetch(eta.getAttribute('data-eta-url'))
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) return;
          eta.textContent = s.text + (s.jobsTotal ? ' (' + s.jobsDone + ' of ' + s.jobsTotal + ' jobs done' + (s.current ? ', now ' + s.current : '') + ')' : '');
          if (s.status === 'running' || s.status === 'queued') setTimeout(etaTick, 2000);
        })
        .catch(function () {});
    };
    etaTick();
  }

  // ---- Following a run's progress ----
  var prog = document.getElementById('progress');
  if (!prog) return;
  var tbody = prog.querySelector('tbody');
  var pre = prog.querySelector('pre.lines');
  var rows = {};
  var lines = [];
  var received = 0;
  var pct = function (v) { return v === undefined || v === null ? '' : formatPercent(v); };
  var cell = function (tr, i, text) { tr.children[i].textContent = text; };
  var placeholder = prog.querySelector('.no-progress');
  var onProgress = function (e) {
    received++;
    if (placeholder) { placeholder.remove(); placeholder = null; }
    prog.setAttribute('data-received', String(received));
    if (curvesBox && e.kind === 'epoch')
      addPoint(e.label, e.epochs, { epoch: e.epoch + 1, loss: e.loss === undefined ? null : e.loss,
        accuracy: e.accuracy === undefined ? null : e.accuracy, evalAccuracy: e.evalAccuracy === undefined ? null : e.evalAccuracy });
    var tr = rows[e.label];
    if (!tr) {
      tr = document.createElement('tr');
      tr.setAttribute('data-job', e.label);
      for (var i = 0; i < 7; i++) tr.appendChild(document.createElement('td'));
      var bar = document.createElement('progress');
      bar.max = 1;
      tr.children[6].appendChild(bar);
      tr.children[6].appendChild(document.createElement('span'));
      tbody.appendChild(tr);
      rows[e.label] = tr;
    }
    var done = e.kind === 'done';
    var epoch = done ? e.epochs : Math.min(e.epoch + 1, e.epochs);
    cell(tr, 0, e.label);
    cell(tr, 1, epoch + '/' + e.epochs);
    cell(tr, 2, e.kind === 'step' ? e.step + '/' + e.stepsPerEpoch : '');
    if (e.loss !== undefined) cell(tr, 3, e.loss.toFixed(3));
    if (e.accuracy !== undefined) cell(tr, 4, pct(e.accuracy));
    if (e.evalAccuracy !== undefined) cell(tr, 5, pct(e.evalAccuracy));
    var frac = done ? 1 : e.kind === 'epoch' ? (e.epoch + 1) / e.epochs
      : (e.epoch + (e.stepsPerEpoch > 0 ? e.step / e.stepsPerEpoch : 0)) / e.epochs;
    tr.querySelector('progress').value = Math.max(0, Math.min(1, frac));
    var state = done ? 'done' : e.kind === 'resume' ? 'resumed' : 'training';
    if (!done && e.etaSeconds !== undefined) state += ', ETA ' + formatDuration(e.etaSeconds);
    tr.querySelector('td:last-child span').textContent = ' ' + state;
    tr.setAttribute('data-state', done ? 'done' : 'training');
    lines.push(e.t.replace('T', ' ').replace(/\\.\\d+Z$/, '') + '  ' + e.text);
    if (lines.length > 300) lines.shift();
    pre.textContent = lines.join('\\n');
    pre.scrollTop = pre.scrollHeight;
  };
  var initial = prog.getAttribute('data-initial-status');
  // The stream starts once the saved curves are in, so the figures keep the jobs' training order.
  loadCurves.then(function () {
    var es = new EventSource(prog.getAttribute('data-events'));
    es.addEventListener('progress', function (ev) { onProgress(JSON.parse(ev.data)); });
    es.addEventListener('status', function (ev) {
      var s = JSON.parse(ev.data);
      var badge = document.querySelector('[data-run-status] .status');
      if (badge) { badge.textContent = s.status; badge.className = 'status ' + s.status; badge.setAttribute('data-status', s.status); }
    });
    es.addEventListener('end', function (ev) {
      es.close();
      var s = JSON.parse(ev.data);
      prog.setAttribute('data-ended', s.status);
      if (initial === 'queued' || initial === 'running') setTimeout(function () { location.reload(); }, 300);
    });
  });
})();
`;
