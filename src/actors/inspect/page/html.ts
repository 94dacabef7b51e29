/** The inspector page. Everything it loads comes from this process: no CDN, works offline. */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>steward inspector</title>
<link rel="stylesheet" href="/app.css">
</head>
<body>
<header>
  <h1>steward <span>inspector</span></h1>
  <span id="conn" class="conn off">connecting</span>
  <span id="stats"></span>
</header>
<main>
  <section id="tree-pane">
    <div class="pane-title">Supervision tree <label class="opt"><input type="checkbox" id="hide-empty" checked> hide empty shards</label></div>
    <ul id="tree" class="tree"></ul>
  </section>
  <section id="detail-pane">
    <div id="detail"><p class="hint">Select an actor in the tree.</p></div>
    <div class="pane-title">Statechart</div>
    <div id="chart" class="chart"></div>
    <div class="pane-title">Context</div>
    <pre id="context"></pre>
  </section>
  <section id="side-pane">
    <div class="pane-title">Crashes and restarts</div>
    <ol id="incidents" class="incidents"></ol>
    <div class="pane-title">Recent events <label class="opt"><input type="checkbox" id="selected-only"> selected actor only</label></div>
    <input id="filter" type="search" placeholder="filter events (type, actor, kind)" autocomplete="off">
    <ol id="log" class="log"></ol>
  </section>
</main>
<script src="/app.js"></script>
</body>
</html>
`;
