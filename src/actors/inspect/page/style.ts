/** The inspector page's stylesheet. */
export const PAGE_CSS = `
:root { --bg: #f6f7f9; --panel: #fff; --ink: #1d2330; --dim: #6b7385; --line: #dde1e8; --accent: #2f6fde;
  --ok: #1f9d55; --warn: #d97706; --bad: #d0342c; --active: #e8f0ff; --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
header { display: flex; gap: 16px; align-items: center; padding: 8px 16px; background: #1d2330; color: #fff; }
header h1 { font-size: 16px; margin: 0; font-weight: 600; }
header h1 span { font-weight: 400; color: #9fb4dd; }
#stats { color: #c7cfdd; font-family: var(--mono); font-size: 12px; }
.conn { padding: 2px 8px; border-radius: 10px; font-size: 12px; }
.conn.on { background: var(--ok); }
.conn.off { background: var(--bad); }
main { display: grid; grid-template-columns: minmax(340px, 34%) 1fr minmax(300px, 27%); gap: 10px; padding: 10px; height: calc(100vh - 42px); }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; overflow: auto; min-height: 0; }
.pane-title { font-weight: 600; color: var(--dim); text-transform: uppercase; font-size: 11px; letter-spacing: .05em; margin: 8px 0 6px; display: flex; justify-content: space-between; }
.pane-title:first-child { margin-top: 0; }
.opt { text-transform: none; font-weight: 400; letter-spacing: 0; }
.hint { color: var(--dim); }
ul.tree, ul.tree ul { list-style: none; margin: 0; padding-left: 14px; }
ul.tree { padding-left: 0; }
.node { display: flex; gap: 6px; align-items: baseline; padding: 2px 4px; border-radius: 4px; cursor: pointer; white-space: nowrap; }
.node:hover { background: #f0f3f8; }
.node.selected { background: var(--active); outline: 1px solid #b9cdf5; }
.twisty { width: 12px; color: var(--dim); display: inline-block; text-align: center; }
.kind { font-size: 10px; padding: 0 5px; border-radius: 3px; color: #fff; background: #8a94a6; text-transform: lowercase; }
.kind.supervisor { background: #6b5bd6; } .kind.broker { background: #2f6fde; } .kind.workerSession { background: #1f9d55; }
.kind.heartbeatMonitor { background: #c2410c; } .kind.actor { background: #8a94a6; }
.name { font-weight: 500; }
.sys { color: var(--dim); font-family: var(--mono); font-size: 11px; }
.state { font-family: var(--mono); font-size: 11px; color: var(--accent); }
.extra { color: var(--dim); font-size: 11px; }
.restarts { color: var(--warn); font-size: 11px; font-weight: 600; }
.empty-note { color: var(--dim); font-size: 11px; padding-left: 22px; }
#detail h2 { margin: 0 0 4px; font-size: 15px; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; font-size: 12px; margin-bottom: 4px; }
.facts dt { color: var(--dim); } .facts dd { margin: 0; font-family: var(--mono); }
pre#context { margin: 0; font: 12px/1.35 var(--mono); background: #fafbfc; border: 1px solid var(--line); border-radius: 4px; padding: 6px; white-space: pre-wrap; word-break: break-word; }
.chart { font-size: 12px; }
.st { border: 1px solid #c5ccd8; border-radius: 6px; padding: 4px 6px; margin: 4px; background: #fff; display: inline-block; vertical-align: top; min-width: 140px; }
.st.active { border: 2px solid var(--accent); background: var(--active); }
.st.final { border-style: double; border-width: 3px; }
.st.parallel > .kids > .st { border-style: dashed; }
.st-head { font-weight: 600; font-family: var(--mono); }
.st-head .type { color: var(--dim); font-weight: 400; font-size: 10px; margin-left: 4px; }
.st-head .initial { color: var(--ok); margin-right: 3px; }
.st.active > .st-head { color: var(--accent); }
.tr { font-family: var(--mono); font-size: 11px; color: #3b4454; white-space: nowrap; }
.tr .ev { color: #7c3aed; } .tr .guard { color: var(--warn); } .tr .act { color: var(--dim); }
.acts { font-family: var(--mono); font-size: 10px; color: var(--dim); }
.kids { display: flex; flex-wrap: wrap; align-items: flex-start; }
ol.log, ol.incidents { list-style: none; margin: 0; padding: 0; font-family: var(--mono); font-size: 11px; }
ol.log li, ol.incidents li { padding: 2px 4px; border-bottom: 1px solid #eef0f4; overflow-wrap: anywhere; }
.log .t, .incidents .t { color: var(--dim); margin-right: 6px; }
.log .k, .incidents .k { display: inline-block; min-width: 62px; font-weight: 600; margin-right: 4px; }
.k.crashed, .k.gaveUp { color: var(--bad); } .k.restarted { color: var(--warn); } .k.started { color: var(--ok); }
.k.exited { color: var(--dim); } .k.sampled { color: #9aa3b5; } .k.event { color: #7c3aed; }
.log .who, .incidents .who { color: var(--accent); }
.log .d, .incidents .d { color: #566074; }
#filter { width: 100%; margin: 0 0 6px; padding: 3px 6px; border: 1px solid var(--line); border-radius: 4px; font: inherit; }
.incidents:empty::after { content: "none so far"; color: var(--dim); font-family: system-ui, sans-serif; }
`;
