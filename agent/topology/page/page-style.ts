// The topology page's stylesheet, inlined into the page (no external fetches).
export const PAGE_STYLE = String.raw`
:root { --bg: #f6f7f9; --fg: #1d2330; --muted: #5b6475; --line: #d5d9e0; --self: #2457c5; --alive: #1f8a4c; --suspect: #b7791f; --dead: #c53030; --unknown: #718096; --pick: #6b46c1; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--fg); }
body > header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0 1.5rem; padding: .75rem 1.25rem; background: #fff; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.25rem; margin: 0; }
h2 { font-size: 1rem; margin: 1.25rem 0 .5rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
h3 { font-size: 1.05rem; margin: 0; }
h4 { font-size: .85rem; margin: .5rem 0 .25rem; color: var(--muted); font-weight: 600; }
main { padding: 0 1.25rem 2rem; }
.muted, #meta { color: var(--muted); }
#status[data-stream-state="live"]::before { content: "\25CF  "; color: var(--alive); }
#status[data-stream-state="reconnecting"]::before { content: "\25CF  "; color: var(--suspect); }
.note { background: #fffbea; border: 1px solid #f0d68a; padding: .4rem .6rem; border-radius: 4px; margin: .5rem 0; }
.note:empty { display: none; }
.overview { display: block; width: 100%; max-height: 320px; background: #fff; border: 1px solid var(--line); border-radius: 6px; margin-bottom: 1rem; }
.wire { stroke: var(--alive); stroke-width: 3; }
.wire[data-state="suspect"] { stroke: var(--suspect); stroke-dasharray: 8 5; }
.wire[data-state="dead"] { stroke: var(--dead); stroke-dasharray: 3 5; }
.wire[data-state="unknown"] { stroke: var(--unknown); }
.wire-rate { font: 12px ui-monospace, Menlo, monospace; fill: var(--fg); paint-order: stroke; stroke: #fff; stroke-width: 4px; }
.dot { fill: var(--unknown); stroke: #fff; stroke-width: 2; }
.dot[data-state="self"] { fill: var(--self); }
.dot[data-state="alive"] { fill: var(--alive); }
.dot[data-state="suspect"] { fill: var(--suspect); }
.dot[data-state="dead"] { fill: var(--dead); }
.dot-name { font: 13px system-ui, sans-serif; fill: var(--fg); }
.hosts { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 1rem; }
.host { background: #fff; border: 1px solid var(--line); border-top: 5px solid var(--unknown); border-radius: 6px; padding: .6rem .75rem; }
.host[data-state="self"] { border-top-color: var(--self); }
.host[data-state="alive"] { border-top-color: var(--alive); }
.host[data-state="suspect"] { border-top-color: var(--suspect); }
.host[data-state="dead"] { border-top-color: var(--dead); opacity: .75; }
.host > header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .5rem; }
.badge { font-size: .75rem; padding: 0 .45rem; border-radius: 999px; color: #fff; background: var(--unknown); }
.badge[data-state="self"] { background: var(--self); }
.badge[data-state="alive"] { background: var(--alive); }
.badge[data-state="suspect"] { background: var(--suspect); }
.badge[data-state="dead"] { background: var(--dead); }
.ip { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: .85em; color: var(--muted); }
.links { list-style: none; margin: .4rem 0; padding: 0; font-size: .8rem; }
.links li { display: flex; justify-content: space-between; gap: .5rem; border-bottom: 1px dotted var(--line); padding: .1rem 0; }
.rate { font-family: ui-monospace, Menlo, monospace; font-size: .8rem; white-space: nowrap; }
.endpoints { display: flex; flex-direction: column; gap: .3rem; }
.endpoint { display: grid; grid-template-columns: 1fr auto; gap: 0 .5rem; text-align: left; width: 100%; font: inherit; padding: .3rem .5rem; border: 1px solid var(--line); border-radius: 4px; background: #fbfcfd; cursor: pointer; }
.endpoint:hover, .endpoint:focus-visible { border-color: var(--pick); outline: none; }
.endpoint[data-picked="from"], .endpoint[data-picked="to"] { border: 2px solid var(--pick); background: #f3efff; }
.endpoint[data-picked="from"] .name::after { content: "  (from)"; color: var(--pick); }
.endpoint[data-picked="to"] .name::after { content: "  (to)"; color: var(--pick); }
.endpoint .rate { grid-column: 1 / 3; color: var(--muted); }
.services { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: 1rem; }
.service { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .6rem .75rem; }
.service ul { margin: .3rem 0 0; padding-left: 1.1rem; }
table { border-collapse: collapse; background: #fff; width: 100%; }
th, td { border: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #eef1f5; font-weight: 600; }
td.mono { font-family: ui-monospace, Menlo, monospace; font-size: .8rem; word-break: break-all; }
#trace { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .6rem .75rem; }
#trace [role="alert"] { color: var(--dead); font-weight: 600; }
tr[data-ok="false"] td { background: #fff5f5; }
tr[data-broken="true"] td { background: #fed7d7; border-color: var(--dead); }
tr[data-broken="true"] td:first-child { box-shadow: inset 4px 0 0 var(--dead); }
.summary[data-ok="true"] { color: var(--alive); font-weight: 600; }
.summary[data-ok="false"] { color: var(--dead); font-weight: 600; }
`;
