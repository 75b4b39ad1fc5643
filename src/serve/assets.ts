/**
 * The app's static assets, kept in the code (no files to copy next to dist/): the stylesheet
 * (the report's, plus the app's navigation, status badges and forms), the one client script, and
 * the icon.
 */
import { REPORT_CSS } from '../report/style.js';

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
`;

/** /favicon.svg (also answered for /favicon.ico, so a browser never logs a 404 for it). */
export const FAVICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0969da"/>' +
  '<path d="M3 12h2V7H3zm4 0h2V4H7zm4 0h2V9h-2z" fill="#fff"/></svg>';

/**
 * /assets/app.js: refreshes the runs table (`[data-live]`: re-fetches its URL every 1.5 s and
 * swaps the HTML when it changed) and follows a run (`#progress[data-events]`: an EventSource on
 * the run's server-sent events; 'progress' events update one row per job and the printed lines,
 * 'status' events the status badge, 'end' closes the stream and reloads a run that finished while
 * watched, so its metric rows show).
 */
export const APP_JS = `'use strict';
(function () {
  var live = document.querySelector('[data-live]');
  if (live) {
    var url = live.getAttribute('data-live');
    var last = live.innerHTML;
    var tick = function () {
      fetch(url, { headers: { accept: 'text/html' } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html !== null && html !== last) { live.innerHTML = html; last = html; }
        })
        .catch(function () {})
        .then(function () { setTimeout(tick, 1500); });
    };
    setTimeout(tick, 1500);
  }

  var prog = document.getElementById('progress');
  if (!prog) return;
  var tbody = prog.querySelector('tbody');
  var pre = prog.querySelector('pre.lines');
  var rows = {};
  var lines = [];
  var received = 0;
  var pct = function (v) { return v === undefined || v === null ? '' : (v * 100).toFixed(1) + '%'; };
  var cell = function (tr, i, text) { tr.children[i].textContent = text; };
  var placeholder = prog.querySelector('.no-progress');
  var onProgress = function (e) {
    received++;
    if (placeholder) { placeholder.remove(); placeholder = null; }
    prog.setAttribute('data-received', String(received));
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
    tr.querySelector('td:last-child span').textContent = ' ' + (done ? 'done' : e.kind === 'resume' ? 'resumed' : 'training');
    tr.setAttribute('data-state', done ? 'done' : 'training');
    lines.push(e.t.replace('T', ' ').replace(/\\.\\d+Z$/, '') + '  ' + e.text);
    if (lines.length > 300) lines.shift();
    pre.textContent = lines.join('\\n');
    pre.scrollTop = pre.scrollHeight;
  };
  var initial = prog.getAttribute('data-initial-status');
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
})();
`;
