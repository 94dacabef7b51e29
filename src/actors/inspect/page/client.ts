/**
 * The inspector page's script, plain browser JavaScript (no build step, no
 * dependencies). It keeps the actors it was sent in a map, applies the deltas
 * of the live stream, and redraws at most once per animation frame. Data is
 * only ever inserted as text, never as HTML.
 * Written without template literals so it can live in this String.raw.
 */
export const PAGE_JS = String.raw`
(function () {
  'use strict';
  var actors = new Map();
  var names = new Map();
  var charts = new Map();
  var log = [];
  var incidents = [];
  var hot = {};
  var untracked = 0;
  var selected = null;
  var collapsed = new Set();
  var pending = false;
  var MAX_LOG = 300;
  var MAX_INCIDENTS = 100;
  var MAX_NAMES = 5000;

  function $(id) { return document.getElementById(id); }
  function h(tag, attrs, kids) {
    var el = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (attrs[k] === null || attrs[k] === undefined) continue;
      if (k === 'class') el.className = attrs[k];
      else if (k === 'text') el.textContent = attrs[k];
      else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), attrs[k]);
      else el.setAttribute(k, attrs[k]);
    }
    if (kids) for (var i = 0; i < kids.length; i++) if (kids[i]) el.appendChild(kids[i]);
    return el;
  }
  function seqOf(id) { var n = Number(String(id).split(':')[1]); return isNaN(n) ? 0 : n; }
  function valueText(v) {
    if (v === null || v === undefined) return '';
    if (typeof v === 'string') return v;
    var parts = [];
    for (var k in v) { var inner = valueText(v[k]); parts.push(inner ? k + '.' + inner : k); }
    return parts.join(', ');
  }
  function time(at) { var d = new Date(at); return d.toTimeString().slice(0, 8) + '.' + String(d.getMilliseconds()).padStart(3, '0'); }
  function short(value, max) { var s = typeof value === 'string' ? value : JSON.stringify(value); if (s === undefined) s = ''; return s.length > max ? s.slice(0, max) + '\u2026' : s; }
  function remember(id, name) { if (names.size > MAX_NAMES) names.clear(); names.set(id, name); }
  function nameOf(id) { if (id === null || id === undefined) return '-'; var a = actors.get(id); return a ? (a.systemId || a.name) : (names.get(id) || id); }

  function schedule() { if (!pending) { pending = true; requestAnimationFrame(function () { pending = false; render(); }); } }

  function upsert(view) { actors.set(view.id, view); remember(view.id, view.systemId || view.name); }
  function addLog(entries) {
    for (var i = 0; i < entries.length; i++) {
      var e = entries[i];
      log.push(e);
      if (e.kind === 'crashed' || e.kind === 'restarted' || e.kind === 'gaveUp') incidents.push(e);
    }
    if (log.length > MAX_LOG) log.splice(0, log.length - MAX_LOG);
    if (incidents.length > MAX_INCIDENTS) incidents.splice(0, incidents.length - MAX_INCIDENTS);
  }
  function hello(state) {
    actors.clear(); log = []; incidents = [];
    state.actors.forEach(upsert);
    addLog(state.log);
    hot = state.hot; untracked = state.untracked;
    if (selected !== null && !actors.has(selected)) selected = null;
    schedule();
  }
  function delta(d) {
    d.upsert.forEach(upsert);
    d.remove.forEach(function (r) { actors.delete(r.id); });
    addLog(d.log);
    hot = d.hot; untracked = d.untracked;
    schedule();
  }

  function connect() {
    var es = new EventSource('/api/stream');
    es.addEventListener('hello', function (m) { setConn(true); hello(JSON.parse(m.data)); });
    es.addEventListener('delta', function (m) { delta(JSON.parse(m.data)); });
    es.onerror = function () { setConn(false); };
  }
  function setConn(on) { var c = $('conn'); c.className = 'conn ' + (on ? 'on' : 'off'); c.textContent = on ? 'live' : 'reconnecting'; }

  // ---- tree ----
  function kindOf(a) { return a.machine || 'actor'; }
  function isEmptyShard(a, kids) { return a.machine === 'supervisor' && /\.shard\.\d+$/.test(a.name) && kids.length === 0; }
  var KIND_LABELS = { workerSession: 'worker', heartbeatMonitor: 'heartbeat' };
  function kindLabel(a) { return a.machine ? (KIND_LABELS[a.machine] || a.machine) : 'actor'; }
  function printable(s) { return typeof s === 'string' && s.length > 0 && s.length <= 40 && /^[\x20-\x7e]+$/.test(s); }
  function extraOf(a) {
    var c = a.context;
    if (c && typeof c === 'object' && !Array.isArray(c)) {
      if (typeof c.service === 'string') {
        return c.service + (printable(c.key) ? ' \u00b7 ' + c.key : '') + (typeof c.inFlight === 'number' ? ' \u00b7 ' + c.inFlight + ' in flight' : '');
      }
      if (c.core && typeof c.core === 'object' && typeof c.core.workers === 'number') return c.core.workers + ' workers \u00b7 ' + c.core.inFlight + ' in flight';
      if (typeof c.ticks === 'number') return c.ticks + ' ticks';
    }
    return '';
  }
  /** A systemId that only repeats the name under its parent's prefix says nothing new in the tree. */
  function sysLabel(a) {
    if (!a.systemId || a.systemId === a.name) return '';
    var tail = a.name.replace(/-/g, '.');
    var id = a.systemId;
    return id.length > tail.length && id.slice(id.length - tail.length) === tail && id.charAt(id.length - tail.length - 1) === '.' && a.machine === 'workerSession' ? '' : id;
  }
  function renderTree() {
    var byParent = new Map();
    var roots = [];
    actors.forEach(function (a) {
      if (a.parent === null || !actors.has(a.parent)) roots.push(a);
      else { if (!byParent.has(a.parent)) byParent.set(a.parent, []); byParent.get(a.parent).push(a); }
    });
    var hideEmpty = $('hide-empty').checked;
    function sorted(list) { return list.slice().sort(function (x, y) { return seqOf(x.id) - seqOf(y.id); }); }
    function item(a) {
      var kids = sorted(byParent.get(a.id) || []);
      var shown = hideEmpty ? kids.filter(function (k) { return !isEmptyShard(k, byParent.get(k.id) || []); }) : kids;
      var hidden = kids.length - shown.length;
      var open = !collapsed.has(a.id);
      var row = h('div', { class: 'node' + (a.id === selected ? ' selected' : ''), onclick: function () { selected = a.id; schedule(); } }, [
        h('span', { class: 'twisty', text: kids.length ? (open ? '\u25be' : '\u25b8') : '', onclick: function (ev) { ev.stopPropagation(); if (open) collapsed.add(a.id); else collapsed.delete(a.id); schedule(); } }),
        h('span', { class: 'kind ' + kindOf(a), text: kindLabel(a) }),
        h('span', { class: 'name', text: a.name }),
        sysLabel(a) ? h('span', { class: 'sys', text: sysLabel(a) }) : null,
        a.value !== null ? h('span', { class: 'state', text: valueText(a.value) }) : null,
        extraOf(a) ? h('span', { class: 'extra', text: extraOf(a) }) : null,
        a.restarts ? h('span', { class: 'restarts', text: '\u21bb' + a.restarts }) : null
      ]);
      var li = h('li', { 'data-actor-id': a.id, 'data-name': a.name, 'data-system-id': a.systemId || '', 'data-machine': a.machine || '', 'data-state': valueText(a.value) }, [row]);
      if (open && (shown.length || hidden)) {
        var ul = h('ul', null, shown.map(item));
        if (hidden) ul.appendChild(h('li', { class: 'empty-note', text: '+ ' + hidden + ' empty shard' + (hidden > 1 ? 's' : '') }));
        li.appendChild(ul);
      }
      return li;
    }
    var tree = $('tree');
    tree.replaceChildren.apply(tree, sorted(roots).map(item));
  }

  // ---- detail and statechart ----
  function activeIds(node, value, out) {
    out.add(node.id);
    if (value === null || value === undefined) return;
    if (typeof value === 'string') {
      node.states.forEach(function (s) { if (s.key === value) out.add(s.id); });
      return;
    }
    node.states.forEach(function (s) { if (Object.prototype.hasOwnProperty.call(value, s.key)) activeIds(s, value[s.key], out); });
  }
  function relative(id, machine) { return id.indexOf(machine + '.') === 0 ? id.slice(machine.length + 1) : id; }
  function renderState(node, parent, active, machine) {
    var head = h('div', { class: 'st-head' }, [
      parent && parent.initial === node.key ? h('span', { class: 'initial', text: '\u25cf\u2192' }) : null,
      h('span', { text: node.key }),
      node.type !== 'atomic' && node.type !== 'compound' ? h('span', { class: 'type', text: node.type }) : null
    ]);
    var box = h('div', { class: 'st ' + node.type + (active.has(node.id) ? ' active' : ''), 'data-state-id': node.id }, [head]);
    if (node.entry.length) box.appendChild(h('div', { class: 'acts', text: 'entry / ' + node.entry.join(', ') }));
    if (node.invoke.length) box.appendChild(h('div', { class: 'acts', text: 'invoke ' + node.invoke.join(', ') }));
    node.on.forEach(function (t) {
      box.appendChild(h('div', { class: 'tr' }, [
        h('span', { class: 'ev', text: t.event }),
        h('span', { text: t.targets.length ? ' \u2192 ' + t.targets.map(function (x) { return relative(x, machine); }).join(', ') : ' \u21ba' }),
        t.guard ? h('span', { class: 'guard', text: ' [' + t.guard + ']' }) : null,
        t.actions.length ? h('span', { class: 'act', text: ' / ' + t.actions.join(', ') }) : null
      ]));
    });
    if (node.exit.length) box.appendChild(h('div', { class: 'acts', text: 'exit / ' + node.exit.join(', ') }));
    if (node.states.length) box.appendChild(h('div', { class: 'kids' }, node.states.map(function (s) { return renderState(s, node, active, machine); })));
    return box;
  }
  function renderChart(a) {
    var el = $('chart');
    if (!a || a.chart === null) { el.replaceChildren(h('p', { class: 'hint', text: a ? 'Not a state machine (' + a.name + ' is a plain actor).' : '' })); return; }
    var chart = charts.get(a.chart);
    if (chart === undefined) {
      charts.set(a.chart, null);
      fetch('/api/chart?key=' + a.chart).then(function (r) { return r.ok ? r.json() : null; }).then(function (c) { charts.set(a.chart, c); schedule(); });
      return;
    }
    if (chart === null) { el.replaceChildren(h('p', { class: 'hint', text: 'loading chart\u2026' })); return; }
    var active = new Set();
    activeIds(chart.root, a.value, active);
    el.replaceChildren(renderState(chart.root, null, active, chart.machine));
  }
  function renderDetail() {
    var a = selected === null ? undefined : actors.get(selected);
    var d = $('detail');
    if (!a) { d.replaceChildren(h('p', { class: 'hint', text: 'Select an actor in the tree.' })); $('context').textContent = ''; renderChart(null); return; }
    function fact(k, v) { return [h('dt', { text: k }), h('dd', { text: String(v) })]; }
    var facts = [].concat(
      fact('state', a.value === null ? '(no states)' : valueText(a.value)), fact('status', a.status),
      fact('systemId', a.systemId || '-'), fact('machine', a.machine || '-'), fact('session', a.id),
      fact('parent', nameOf(a.parent)), fact('events', a.events), fact('restarts', a.restarts),
      fact('started', time(a.startedAt)));
    d.replaceChildren(h('h2', { text: a.systemId || a.name }), h('dl', { class: 'facts' }, facts));
    $('context').textContent = a.context === null ? '(no context)' : JSON.stringify(a.context, null, 2);
    renderChart(a);
  }

  // ---- log ----
  function reasonText(r) {
    if (!r || typeof r !== 'object') return '';
    if (r.kind === 'error') return 'error: ' + (r.error && r.error.message ? r.error.message : short(r.error, 120));
    if (r.kind === 'failed') return 'failed: ' + r.reason;
    var out = r.output && typeof r.output === 'object' && r.output.reason ? ' (' + r.output.reason + ')' : '';
    return 'normal' + out;
  }
  function detailText(e) {
    var d = e.detail;
    if (d === null || d === undefined) return '';
    switch (e.kind) {
      case 'event': return typeof d === 'object' ? short(withoutType(d), 160) : short(d, 160);
      case 'sampled': return 'one of every ' + d.every + (d.messages !== undefined ? ', ' + d.messages + ' messages' : '');
      case 'started': return '';
      case 'restarted': return 'restart #' + d.restarts;
      case 'exited':
        if (d.cause) return 'stopped by its supervisor: ' + d.cause.replace('_', ' ') + (d.reason ? ' (' + short(d.reason, 80) + ')' : '');
        return reasonText(d.reason) + (d.willRestart ? ', will restart' : '');
      case 'crashed':
        if (d.reason) return reasonText(d.reason) + (d.willRestart ? ', will restart' : ', not restarted');
        return d.error && d.error.message ? d.error.$error + ': ' + d.error.message : short(d.error, 160);
      case 'gaveUp': return d.restarts + ' restarts within ' + d.period + ' ms: gave up';
      default: return short(d, 160);
    }
  }
  function logItem(e) {
    var isEvent = e.kind === 'event' || e.kind === 'sampled';
    var detail = detailText(e);
    return h('li', { 'data-kind': e.kind }, [
      h('span', { class: 't', text: time(e.at) }),
      h('span', { class: 'k ' + e.kind, text: e.kind }),
      h('span', { class: 'who', text: (isEvent ? nameOf(e.actor) : nameOf(e.actor) + ' \u203a ' + e.type) + ' ' }),
      isEvent ? h('span', { text: e.type + ' ' }) : null,
      e.source ? h('span', { class: 'd', text: 'from ' + nameOf(e.source) + ' ' }) : null,
      detail ? h('span', { class: 'd', text: detail }) : null
    ]);
  }
  function withoutType(d) { var o = {}; for (var k in d) if (k !== 'type') o[k] = d[k]; return o; }
  function renderLog() {
    var only = $('selected-only').checked && selected !== null;
    var text = $('filter').value.trim().toLowerCase();
    var list = log.filter(function (e) {
      if (only && e.actor !== selected && e.source !== selected) return false;
      return !text || (e.type + ' ' + nameOf(e.actor) + ' ' + e.kind).toLowerCase().indexOf(text) >= 0;
    });
    var el = $('log');
    el.replaceChildren.apply(el, list.slice(-150).reverse().map(logItem));
    var inc = $('incidents');
    inc.replaceChildren.apply(inc, incidents.slice().reverse().map(logItem));
  }
  function renderStats() {
    var parts = [actors.size + ' actors'];
    for (var k in hot) parts.push(k + ' ' + hot[k].toLocaleString());
    if (untracked) parts.push(untracked + ' untracked');
    $('stats').textContent = parts.join('  \u00b7  ');
    $('stats').title = 'hot events are counted, not recorded';
  }
  function render() { renderTree(); renderDetail(); renderLog(); renderStats(); }

  $('hide-empty').addEventListener('change', schedule);
  $('selected-only').addEventListener('change', schedule);
  $('filter').addEventListener('input', schedule);
  connect();
})();
`;
