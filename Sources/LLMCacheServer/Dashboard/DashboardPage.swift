/// The page `GET /dashboard` serves: one self-contained HTML document that
/// shows an operator whether the cache pays — live figures from
/// `/admin/stats`, charts from `/admin/history`, tables from
/// `/admin/breakdown`, the latest semantic hits (each can be reported wrong)
/// and an invalidation form.
///
/// Everything is inline (CSS, JavaScript, the charts as SVG drawn in the
/// page), so it works offline and under the server's
/// `Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline';
/// style-src 'unsafe-inline'; connect-src 'self'; img-src data:`. It makes no
/// request but to the admin API beside it, with the admin token it reads from
/// the URL fragment (`#token=…`, then dropped from the address bar) or the
/// tab's `sessionStorage`, else asks for.
///
/// Every live figure is an element with a `data-metric` attribute whose text
/// is the number exactly as `/admin/stats` reports it (a formatted label may
/// stand beside it); without an accepted token no such element exists.
/// A constant: nothing is computed per request.
enum DashboardPage {
    /// The document, UTF-8 HTML.
    static let html: String = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>LLM Cache · dashboard</title>
<link rel="icon" href="data:,">
<style>
:root {
  color-scheme: light dark;
  --bg: #f4f5f7; --panel: #ffffff; --panel-2: #f7f8fa; --text: #17202b; --muted: #566273; --faint: #7d8795;
  --border: #e1e4e9; --grid: #eceef2; --axis: #c9ced6;
  --accent: #2b66c7; --accent-hover: #2358ad; --accent-text: #ffffff; --focus: #2b66c7;
  --danger: #c03535; --danger-hover: #a62c2c; --ok: #23906b;
  --warn-bg: #fff3dc; --warn-border: #f1d29a; --warn-text: #6e4500;
  --err-bg: #fdecec; --err-border: #f2c2c2; --err-text: #8e2323;
  --hit: #2a9d76; --semantic_hit: #5a7fd6; --miss: #e0992b; --bypass: #a7afba; --upstream_error: #d64f4f; --rejected: #9b58b4;
  --saved: #2b66c7; --saved-fill: rgba(43, 102, 199, 0.12);
  --radius: 10px; --shadow: 0 1px 2px rgba(16, 24, 40, 0.05);
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1217; --panel: #171b22; --panel-2: #1b2028; --text: #e5e8ec; --muted: #a0aab7; --faint: #7f8996;
    --border: #29303a; --grid: #222831; --axis: #3a424e;
    --accent: #6f9ff2; --accent-hover: #8db3f5; --accent-text: #0c1420; --focus: #8db3f5;
    --danger: #ef6f6f; --danger-hover: #f38b8b; --ok: #3cbf91;
    --warn-bg: #33270f; --warn-border: #5c4818; --warn-text: #f3cd7e;
    --err-bg: #3a1a1c; --err-border: #66292c; --err-text: #f6b3b3;
    --hit: #3cbf91; --semantic_hit: #84a2f2; --miss: #efb257; --bypass: #6f7986; --upstream_error: #ef6b6b; --rejected: #c58be0;
    --saved: #6f9ff2; --saved-fill: rgba(111, 159, 242, 0.16);
    --shadow: none;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", "Liberation Sans", Arial, sans-serif;
}
.wrap { max-width: 1360px; margin: 0 auto; padding: 0 24px 48px; }
@media (max-width: 640px) { .wrap { padding: 0 12px 32px; } }
[hidden] { display: none !important; }
button, input, select { font: inherit; color: inherit; }
:focus-visible { outline: 2px solid var(--focus); outline-offset: 2px; }
code, .mono { font-family: ui-monospace, "SF Mono", "Cascadia Mono", "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.92em; }
.num { font-variant-numeric: tabular-nums; }

/* Header */
.top { display: flex; align-items: center; gap: 12px 20px; flex-wrap: wrap; padding: 16px 0 14px; }
.brand { display: flex; align-items: center; gap: 10px; margin: 0; font-size: 18px; font-weight: 650; letter-spacing: -0.01em; }
.brand svg { flex: none; }
.logo-bg { fill: var(--accent); }
.logo-fg { fill: none; stroke: var(--accent-text); stroke-width: 2; stroke-linecap: round; }
.brand .sub { color: var(--muted); font-weight: 450; }
.status { margin-left: auto; display: flex; align-items: center; gap: 8px; color: var(--muted); font-size: 13px; min-height: 30px; }
.dot { width: 8px; height: 8px; border-radius: 50%; background: var(--ok); flex: none; }
.status.stale .dot { background: var(--miss); }
.stale-note { max-width: 520px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; background: var(--warn-bg); border: 1px solid var(--warn-border); color: var(--warn-text); border-radius: 999px; padding: 2px 10px; font-size: 12.5px; }

.btn {
  display: inline-flex; align-items: center; gap: 6px; border: 1px solid var(--border); background: var(--panel); color: var(--text);
  border-radius: 8px; padding: 6px 12px; cursor: pointer; font-weight: 550; line-height: 1.3;
}
.btn:hover { background: var(--panel-2); }
.btn.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-text); }
.btn.primary:hover { background: var(--accent-hover); border-color: var(--accent-hover); }
.btn.danger { background: var(--danger); border-color: var(--danger); color: #fff; }
.btn.danger:hover { background: var(--danger-hover); border-color: var(--danger-hover); }
@media (prefers-color-scheme: dark) { .btn.danger { color: #1a0b0b; } }
.btn.small { padding: 3px 9px; font-size: 12.5px; font-weight: 550; }
.btn:disabled { opacity: 0.55; cursor: default; }

/* Panels */
.panel { background: var(--panel); border: 1px solid var(--border); border-radius: var(--radius); box-shadow: var(--shadow); }
.section-head { display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap; margin: 26px 0 10px; }
.section-head h2 { margin: 0; font-size: 15px; font-weight: 650; }
.section-head .note { color: var(--muted); font-size: 13px; }
.section-head .right { margin-left: auto; }

/* Sign in */
.auth { max-width: 520px; margin: 64px auto; padding: 26px 28px; }
.auth h2 { margin: 0 0 6px; font-size: 20px; }
.auth p { margin: 0 0 14px; color: var(--muted); }
.auth form { display: flex; flex-direction: column; gap: 8px; margin-top: 10px; }
.auth label { font-weight: 600; }
.auth .row { display: flex; gap: 8px; }
.auth input { flex: 1; min-width: 0; }
input[type=text], input[type=password] {
  border: 1px solid var(--axis); background: var(--panel); border-radius: 8px; padding: 7px 10px;
}
input[type=text]:focus, input[type=password]:focus { border-color: var(--focus); }
.message { border-radius: 8px; padding: 10px 12px; margin: 14px 0 0; }
.message.error { background: var(--err-bg); border: 1px solid var(--err-border); color: var(--err-text); }
.message.warn { background: var(--warn-bg); border: 1px solid var(--warn-border); color: var(--warn-text); }
.message.info { background: var(--panel-2); border: 1px solid var(--border); color: var(--text); }
.message code { background: transparent; }

/* Key figures */
.kpis { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 12px; }
@media (max-width: 980px) { .kpis { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
@media (max-width: 560px) { .kpi { padding: 12px 14px; } .kpi .big { font-size: 27px; } }
@media (max-width: 360px) { .kpis { grid-template-columns: 1fr; } }
.kpi { padding: 14px 18px 15px; }
.label { font-size: 11.5px; text-transform: uppercase; letter-spacing: 0.07em; color: var(--muted); font-weight: 650; }
.kpi .big { font-size: 36px; font-weight: 650; letter-spacing: -0.025em; line-height: 1.15; margin-top: 4px; font-variant-numeric: tabular-nums; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.kpi .sub { color: var(--muted); font-size: 13px; margin-top: 3px; font-variant-numeric: tabular-nums; }
.kpi .raw { color: var(--faint); font-size: 12px; margin-top: 1px; font-variant-numeric: tabular-nums; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.kpi .raw [data-metric] { color: var(--muted); }
.kpi.hit .big { color: var(--hit); }
.tiles { display: grid; grid-template-columns: repeat(8, minmax(0, 1fr)); margin-top: 12px; }
@media (max-width: 1100px) { .tiles { grid-template-columns: repeat(4, minmax(0, 1fr)); } }
@media (max-width: 520px) { .tiles { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
.tile { padding: 11px 16px 12px; border-left: 1px solid var(--border); min-width: 0; }
.tile:first-child { border-left: 0; }
@media (max-width: 1100px) { .tile:nth-child(4n + 1) { border-left: 0; } .tile:nth-child(n + 5) { border-top: 1px solid var(--border); } }
@media (max-width: 520px) { .tile { border-left: 0; } .tile:nth-child(even) { border-left: 1px solid var(--border); } .tile:nth-child(n + 3) { border-top: 1px solid var(--border); } }
.tile .label { display: flex; align-items: center; gap: 6px; }
.tile .value { font-size: 22px; font-weight: 620; margin-top: 2px; font-variant-numeric: tabular-nums; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.tile .hint { color: var(--muted); font-size: 12px; font-variant-numeric: tabular-nums; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; min-height: 17px; }
.tile.alarm .value { color: var(--danger); }
.sw { display: inline-block; width: 9px; height: 9px; border-radius: 2px; flex: none; }
.sw.line { height: 3px; border-radius: 2px; width: 14px; }
.sw.dash { height: 0; width: 14px; border-top: 2px dashed currentColor; background: transparent !important; border-radius: 0; }
.c-hit { background: var(--hit); color: var(--hit); } .c-semantic_hit { background: var(--semantic_hit); color: var(--semantic_hit); }
.c-miss { background: var(--miss); color: var(--miss); } .c-bypass { background: var(--bypass); color: var(--bypass); }
.c-upstream_error { background: var(--upstream_error); color: var(--upstream_error); } .c-rejected { background: var(--rejected); color: var(--rejected); }
.c-saved { background: var(--saved); color: var(--saved); }

/* Charts */
.seg { display: inline-flex; border: 1px solid var(--border); border-radius: 8px; overflow: hidden; background: var(--panel); }
.seg button { border: 0; background: transparent; padding: 5px 12px; cursor: pointer; font-size: 13px; font-weight: 550; color: var(--muted); }
.seg button + button { border-left: 1px solid var(--border); }
.seg button[aria-pressed=true] { background: var(--accent); color: var(--accent-text); }
.charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 12px; }
@media (max-width: 900px) { .charts { grid-template-columns: 1fr; } }
.chart { padding: 12px 14px 8px; min-width: 0; }
.card-head { display: flex; align-items: baseline; gap: 10px; flex-wrap: wrap; }
.card-head h3 { margin: 0; font-size: 13.5px; font-weight: 650; }
.card-head .summary { margin-left: auto; color: var(--muted); font-size: 12.5px; font-variant-numeric: tabular-nums; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 12px; margin: 6px 0 2px; color: var(--muted); font-size: 12px; }
.legend span { display: inline-flex; align-items: center; gap: 5px; }
.plot { position: relative; }
.plot svg { display: block; width: 100%; overflow: visible; }
.plot svg:focus-visible { outline: 2px solid var(--focus); outline-offset: 2px; border-radius: 4px; }
svg .grid { stroke: var(--grid); stroke-width: 1; }
svg .base { stroke: var(--axis); stroke-width: 1; }
svg .tick { stroke: var(--axis); }
svg text { fill: var(--faint); font-size: 11px; font-variant-numeric: tabular-nums; }
svg text.empty { fill: var(--muted); font-size: 13px; }
svg .guide { stroke: var(--muted); stroke-width: 1; stroke-dasharray: 3 3; pointer-events: none; }
svg .o-hit { fill: var(--hit); } svg .o-semantic_hit { fill: var(--semantic_hit); } svg .o-miss { fill: var(--miss); }
svg .o-bypass { fill: var(--bypass); } svg .o-upstream_error { fill: var(--upstream_error); } svg .o-rejected { fill: var(--rejected); }
svg .line { fill: none; stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; }
svg .line.l-hit { stroke: var(--hit); } svg .line.l-miss { stroke: var(--miss); } svg .line.l-saved { stroke: var(--saved); }
svg .line.dashed { stroke-dasharray: 5 4; stroke-width: 1.6; }
svg .ring-hit, svg .ring-miss { fill: none; stroke-width: 1.5; } svg .ring-hit { stroke: var(--hit); } svg .ring-miss { stroke: var(--miss); }
svg .pt-hit { fill: var(--hit); } svg .pt-miss { fill: var(--miss); } svg .pt-saved { fill: var(--saved); }
svg .area { fill: var(--saved-fill); stroke: none; }
svg .ref { stroke: var(--hit); stroke-width: 1; stroke-dasharray: 2 4; opacity: 0.8; }
.tip {
  position: absolute; top: 4px; z-index: 5; pointer-events: none; min-width: 160px; max-width: 260px;
  background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 8px 10px;
  box-shadow: 0 6px 20px rgba(0, 0, 0, 0.14); font-size: 12.5px; font-variant-numeric: tabular-nums;
}
.tip .when { color: var(--muted); margin-bottom: 4px; }
.tip .row { display: flex; align-items: center; gap: 6px; }
.tip .row b { margin-left: auto; padding-left: 12px; font-weight: 600; }

/* Tables */
.tables { display: grid; grid-template-columns: 1fr; gap: 12px; }
.table-card { padding: 12px 0 6px; min-width: 0; }
.table-card h3 { margin: 0 16px 8px; font-size: 13.5px; font-weight: 650; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 7px 10px; text-align: right; white-space: nowrap; border-top: 1px solid var(--border); }
th:first-child, td:first-child { text-align: left; padding-left: 16px; }
th:last-child, td:last-child { padding-right: 16px; }
thead th { border-top: 0; color: var(--muted); font-size: 11.5px; text-transform: uppercase; letter-spacing: 0.05em; font-weight: 650; }
tbody tr:hover { background: var(--panel-2); }
tr.idle td { color: var(--faint); }
.path { color: var(--faint); font-size: 12px; margin-left: 6px; }
.meter { display: inline-flex; align-items: center; gap: 8px; justify-content: flex-end; }
.meter .bar { width: 54px; height: 6px; border-radius: 3px; background: var(--grid); overflow: hidden; }
.meter .bar i { display: block; height: 100%; background: var(--hit); }
.empty-row td { text-align: center !important; color: var(--muted); padding: 16px; }
table.hits td.text { white-space: normal; text-align: left; min-width: 260px; max-width: 560px; }
table.hits td.text span { display: -webkit-box; -webkit-line-clamp: 2; line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; }
table.hits td.who, table.hits th.who { text-align: left; }
table.hits td.key code { cursor: help; border-bottom: 1px dotted var(--faint); }
table.hits .result { font-size: 12.5px; }
.result.ok { color: var(--ok); }
.result.error { color: var(--danger); }

/* Invalidation */
.inv { padding: 16px 18px; }
.inv form { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 12px 16px; }
.inv fieldset { border: 0; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 6px; }
.inv legend { font-weight: 600; margin-bottom: 6px; padding: 0; }
.inv .kinds { display: inline-flex; border: 1px solid var(--border); border-radius: 8px; overflow: hidden; }
.inv .kinds label { padding: 6px 12px; cursor: pointer; font-size: 13px; font-weight: 550; color: var(--muted); display: inline-flex; align-items: center; gap: 6px; }
.inv .kinds label + label { border-left: 1px solid var(--border); }
.inv .kinds input { accent-color: var(--accent); margin: 0; }
.inv .kinds label:has(input:checked) { background: var(--panel-2); color: var(--text); }
.inv .field { display: flex; flex-direction: column; gap: 6px; flex: 1; min-width: 240px; max-width: 460px; }
.inv .field label { font-weight: 600; }
.inv .help { color: var(--muted); font-size: 12.5px; margin: 10px 0 0; }
.inv .outcome { margin: 12px 0 0; }
.inv .outcome:empty { display: none; }

/* Dialog */
dialog { border: 1px solid var(--border); border-radius: 12px; padding: 0; background: var(--panel); color: var(--text); max-width: min(520px, calc(100vw - 32px)); box-shadow: 0 20px 50px rgba(0, 0, 0, 0.25); }
dialog::backdrop { background: rgba(15, 18, 23, 0.45); }
dialog form { padding: 20px 22px 18px; margin: 0; }
dialog h2 { margin: 0 0 8px; font-size: 17px; }
dialog p { margin: 0 0 10px; color: var(--muted); }
dialog .detail { background: var(--panel-2); border: 1px solid var(--border); border-radius: 8px; padding: 8px 10px; color: var(--text); overflow-wrap: anywhere; }
dialog .actions { display: flex; justify-content: flex-end; gap: 8px; margin-top: 16px; }
.foot { margin-top: 30px; color: var(--faint); font-size: 12.5px; }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
</style>
</head>
<body>
<div class="wrap">
  <header class="top">
    <h1 class="brand">
      <svg width="26" height="26" viewBox="0 0 26 26" aria-hidden="true"><rect class="logo-bg" x="1" y="1" width="24" height="24" rx="7"/><path class="logo-fg" d="M7 9.5h12M7 13h12M7 16.5h7"/></svg>
      <span>LLM Cache <span class="sub">dashboard</span></span>
    </h1>
    <div id="status" class="status" hidden>
      <span class="dot" aria-hidden="true"></span>
      <span id="status-text"></span>
      <span id="stale-note" class="stale-note" role="status" hidden></span>
      <button id="sign-out" class="btn small" type="button">Sign out</button>
    </div>
  </header>

  <noscript><div class="panel auth"><h2>JavaScript is off</h2><p>The dashboard draws its figures with JavaScript; turn it on for this page, or read <code>/admin/stats</code> with curl.</p></div></noscript>

  <section id="auth" class="panel auth" aria-labelledby="auth-title" hidden>
    <h2 id="auth-title">Open the dashboard</h2>
    <p>Enter the proxy's admin token: the value of <code>--admin-token</code> (or <code>LLMCACHE_ADMIN_TOKEN</code>). It stays in this tab only.</p>
    <div id="auth-message" class="message" role="alert" hidden></div>
    <form id="token-form" autocomplete="off">
      <label for="token-input">Admin token</label>
      <div class="row">
        <input id="token-input" name="token" type="password" required spellcheck="false" autocapitalize="off" aria-describedby="token-help">
        <button class="btn primary" type="submit">Open</button>
      </div>
      <small id="token-help" style="color: var(--muted)">Tip: a link to <code>/dashboard#token=…</code> signs in directly; the token is then removed from the address bar.</small>
    </form>
  </section>

  <p id="connecting" class="message info" hidden>Connecting to the admin API…</p>

  <main id="dashboard" aria-live="off"></main>
</div>

<dialog id="confirm" aria-labelledby="confirm-title" aria-describedby="confirm-body">
  <form method="dialog">
    <h2 id="confirm-title"></h2>
    <p id="confirm-body"></p>
    <p id="confirm-detail" class="detail mono"></p>
    <div class="actions">
      <button id="confirm-cancel" class="btn" value="cancel" autofocus>Cancel</button>
      <button id="confirm-ok" class="btn danger" value="confirm"></button>
    </div>
  </form>
</dialog>

<script>
'use strict';
(() => {
  const REFRESH_MS = 5000;
  const TOKEN_KEY = 'llm-cache.admin-token';
  const OUTCOMES = [
    ['hit', 'Exact hit'], ['semantic_hit', 'Semantic hit'], ['miss', 'Miss'],
    ['bypass', 'Bypass'], ['upstream_error', 'Upstream error'], ['rejected', 'Rejected'],
  ];
  const ROUTES = {
    chat_completions: ['Chat completions', '/v1/chat/completions'],
    completions: ['Completions', '/v1/completions'],
    embeddings: ['Embeddings', '/v1/embeddings'],
    responses: ['Responses', '/v1/responses'],
    messages: ['Messages', '/v1/messages'],
  };
  // The admin API lives beside the page: /dashboard → /admin/…, also behind a path prefix.
  const BASE = location.pathname.replace(/\/dashboard\/?$/, '/').replace(/[^/]*$/, '');

  const state = {
    token: null, range: 'hour', timer: null, generation: 0, mounted: false,
    lastGood: null, staleSince: null, history: null, stats: null,
    reports: new Map(), rendered: {}, inFlight: false,
  };
  const ui = {};

  // ---------- small helpers ----------
  const $ = (id) => document.getElementById(id);
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    setProps(el, props);
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : String(child));
    }
    return el;
  }
  function s(tag, props, ...children) {
    const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
    setProps(el, props);
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : String(child));
    }
    return el;
  }
  function setProps(el, props) {
    if (!props) return;
    for (const [name, value] of Object.entries(props)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === 'text') el.textContent = value;
      else if (name === 'dataset') Object.assign(el.dataset, value);
      else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
      else el.setAttribute(name === 'className' ? 'class' : name, value === true ? '' : String(value));
    }
  }
  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
  const n = (v) => (isNum(v) ? v : 0);
  const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
  const fmtInt = (v) => (isNum(v) ? numberFormat.format(v) : '—');
  function fmtCompact(v) {
    if (!isNum(v)) return '—';
    const a = Math.abs(v);
    if (a >= 1e9) return trim(v / 1e9, 2) + ' B';
    if (a >= 1e6) return trim(v / 1e6, 2) + ' M';
    if (a >= 1e4) return trim(v / 1e3, 1) + ' k';
    return fmtInt(v);
  }
  function trim(v, digits) { return String(Number(v.toFixed(digits))); }
  function fmtPct(r, digits = 1) {
    if (!isNum(r)) return '—';
    const p = r * 100;
    return (p === 0 || p === 100 ? String(p) : p.toFixed(digits)) + '%';
  }
  function fmtUSD(v) {
    if (!isNum(v)) return '—';
    if (v === 0) return '$0';
    const a = Math.abs(v);
    if (a >= 1000) return '$' + numberFormat.format(Math.round(v));
    if (a >= 1) return '$' + v.toFixed(2);
    if (a >= 0.01) return '$' + v.toFixed(3).replace(/0$/, '');
    return '$' + Number(v.toPrecision(2)).toString();
  }
  function fmtDuration(sec) {
    if (!isNum(sec)) return '—';
    if (sec < 1) return trim(sec * 1000, 0) + ' ms';
    if (sec < 60) return trim(sec, 1) + ' s';
    if (sec < 3600) return Math.floor(sec / 60) + ' min ' + Math.floor(sec % 60) + ' s';
    if (sec < 86400) return Math.floor(sec / 3600) + ' h ' + Math.floor((sec % 3600) / 60) + ' min';
    return Math.floor(sec / 86400) + ' d ' + Math.floor((sec % 86400) / 3600) + ' h';
  }
  function fmtSpan(sec) {
    if (sec >= 3600 && sec % 3600 === 0) return sec / 3600 + ' h';
    if (sec >= 60 && sec % 60 === 0) return sec / 60 + ' min';
    return trim(sec, 1) + ' s';
  }
  function fmtBytes(b) {
    if (!isNum(b)) return '—';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0; let v = b;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
    return (i === 0 ? String(v) : v.toFixed(v >= 100 ? 0 : 1)) + ' ' + units[i];
  }
  function fmtRate(v) {
    if (!isNum(v) || v === 0) return '0';
    if (v >= 10) return trim(v, 0);
    if (v >= 1) return trim(v, 1);
    return String(Number(v.toPrecision(2)));
  }
  function fmtMs(v) {
    if (!isNum(v)) return '—';
    if (v >= 1000) return trim(v / 1000, v >= 10000 ? 0 : 1) + ' s';
    if (v >= 10) return trim(v, 0) + ' ms';
    if (v >= 1) return trim(v, 1) + ' ms';
    return String(Number(v.toPrecision(2))) + ' ms';
  }
  // Times from the API are Unix seconds; milliseconds are accepted too.
  const toSeconds = (t) => (isNum(t) ? (t > 1e11 ? t / 1000 : t) : NaN);
  const clock = (t, seconds) => new Date(t * 1000).toLocaleTimeString([], seconds
    ? { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }
    : { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const nowSeconds = () => Date.now() / 1000;
  function ago(t) {
    const d = Math.max(0, nowSeconds() - t);
    if (d < 60) return Math.round(d) + ' s ago';
    if (d < 3600) return Math.round(d / 60) + ' min ago';
    if (d < 86400) return Math.round(d / 3600) + ' h ago';
    return new Date(t * 1000).toLocaleDateString();
  }
  const plural = (count, one, many) => (count === 1 ? one : many);

  // ---------- the token ----------
  function storedToken() {
    try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }
  function storeToken(token) {
    try {
      if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* storage disabled: the token lives in memory for this page only */ }
  }
  function tokenFromFragment() {
    const fragment = location.hash.replace(/^#/, '');
    if (!fragment) return null;
    const params = new URLSearchParams(fragment);
    if (!params.has('token')) return null;
    const token = params.get('token');
    params.delete('token');
    const rest = params.toString();
    // Out of the address bar, so it is not bookmarked, shared or kept in history.
    history.replaceState(null, '', location.pathname + location.search + (rest ? '#' + rest : ''));
    return token || null;
  }

  // ---------- the admin API ----------
  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }
  async function api(path, options = {}) {
    const headers = { Authorization: 'Bearer ' + state.token, Accept: 'application/json' };
    const init = { method: options.method || 'GET', headers, cache: 'no-store', credentials: 'omit', redirect: 'error' };
    if (options.body !== undefined) { headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(options.body); }
    let response;
    try { response = await fetch(BASE + path, init); } catch (e) { throw new ApiError(0, 'the proxy did not answer'); }
    let payload = null;
    try { const text = await response.text(); payload = text ? JSON.parse(text) : null; } catch (e) { payload = null; }
    if (!response.ok) {
      const error = payload && payload.error;
      const message = (error && typeof error === 'object' ? error.message : error) || ('HTTP ' + response.status);
      throw new ApiError(response.status, String(message));
    }
    if (payload === null || typeof payload !== 'object') throw new ApiError(response.status, 'the answer was not JSON');
    return payload;
  }
  const isDenied = (error) => error instanceof ApiError && (error.status === 401 || error.status === 403);

  // ---------- sign in, sign out ----------
  function showAuth(kind, parts) {
    $('connecting').hidden = true;
    $('auth').hidden = false;
    const box = $('auth-message');
    if (kind) {
      box.className = 'message ' + kind;
      box.replaceChildren(...parts);
      box.hidden = false;
    } else {
      box.hidden = true;
      box.replaceChildren();
    }
    $('token-input').value = '';
  }
  function unmount() {
    state.generation += 1;
    clearTimeout(state.timer);
    state.mounted = false;
    state.history = null; state.stats = null; state.rendered = {}; state.reports.clear();
    state.lastGood = null; state.staleSince = null;
    $('dashboard').replaceChildren();
    $('status').hidden = true;
    if (ui.resize) { ui.resize.disconnect(); ui.resize = null; }
  }
  function deny(error) {
    unmount();
    state.token = null;
    storeToken(null);
    if (error.status === 403) {
      showAuth('warn', [h('strong', { text: 'The admin API is disabled on this proxy. ' }),
        'Start it with ', h('code', { text: '--admin-token <token>' }), ' (or set ', h('code', { text: 'LLMCACHE_ADMIN_TOKEN' }),
        ') to use the dashboard.', h('br'), h('small', { text: 'The proxy said: ' + error.message })]);
    } else {
      showAuth('error', [h('strong', { text: 'The token was refused. ' }),
        'The proxy answered 401: it is not the admin token it was started with. Check ', h('code', { text: '--admin-token' }), ' and try again.']);
    }
  }
  function signOut() {
    unmount();
    state.token = null;
    storeToken(null);
    showAuth('info', ['Signed out. The token was removed from this tab.']);
    $('token-input').focus();
  }
  function start(token) {
    unmount();
    state.token = token;
    storeToken(token);
    $('auth').hidden = true;
    const box = $('connecting');
    box.className = 'message info';
    box.textContent = 'Connecting to the admin API…';
    box.hidden = false;
    refresh();
  }

  // ---------- refresh ----------
  function schedule(delay = REFRESH_MS) {
    clearTimeout(state.timer);
    state.timer = setTimeout(refresh, delay);
  }
  async function refresh() {
    if (!state.token) return;
    clearTimeout(state.timer);
    if (state.inFlight) { schedule(250); return; }
    state.inFlight = true;
    const generation = state.generation;
    const range = state.range;
    let results;
    try {
      results = await Promise.allSettled([
        api('admin/stats'), api('admin/history?range=' + range), api('admin/breakdown'), api('admin/semantic-hits?limit=20'),
      ]);
    } finally { state.inFlight = false; }
    if (generation !== state.generation) return;
    const denied = results.find((r) => r.status === 'rejected' && isDenied(r.reason));
    if (denied) { deny(denied.reason); return; }
    const [stats, history, breakdown, semantic] = results;
    if (!state.mounted) {
      if (stats.status !== 'fulfilled') {
        const box = $('connecting');
        box.className = 'message error';
        box.replaceChildren('Could not read ', h('code', { text: '/admin/stats' }), ': ' + stats.reason.message + '. Retrying every ' + REFRESH_MS / 1000 + ' s… ',
          h('button', { class: 'btn small', type: 'button', onclick: signOut, text: 'Use another token' }));
        box.hidden = false;
        schedule();
        return;
      }
      mount();
    }
    const failed = [];
    guard(() => { if (stats.status === 'fulfilled') renderStats(stats.value); else failed.push(['stats', stats.reason]); });
    guard(() => {
      if (history.status === 'fulfilled') { if (range === state.range) { state.history = history.value; renderCharts(); } }
      else failed.push(['history', history.reason]);
    });
    guard(() => { if (breakdown.status === 'fulfilled') renderBreakdown(breakdown.value); else failed.push(['breakdown', breakdown.reason]); });
    guard(() => {
      if (semantic.status === 'fulfilled') renderSemantic(semantic.value, null);
      else if (semantic.reason.status === 404 || semantic.reason.status === 409) renderSemantic(null, semantic.reason);
      else failed.push(['semantic hits', semantic.reason]);
    });
    setStatus(failed);
    schedule();
  }
  // A section that cannot draw what it was sent must not stop the others.
  function guard(work) {
    try { work(); } catch (e) { setTimeout(() => { throw e; }); }
  }
  function setStatus(failed) {
    const now = nowSeconds();
    const status = $('status');
    status.hidden = false;
    const note = $('stale-note');
    if (failed.length === 0) {
      state.lastGood = now; state.staleSince = null;
      status.classList.remove('stale');
      $('status-text').textContent = 'Live · updated ' + clock(now, true);
      note.hidden = true; note.textContent = '';
      return;
    }
    if (state.staleSince === null) state.staleSince = state.lastGood || now;
    status.classList.add('stale');
    $('status-text').textContent = 'Retrying every ' + REFRESH_MS / 1000 + ' s';
    const messages = [...new Set(failed.map(([, error]) => error.message))];
    const reason = messages.length === 1 ? messages[0] : failed.map(([what, error]) => what + ': ' + error.message).join('; ');
    note.textContent = 'Stale since ' + clock(state.staleSince, true) + ' · ' + reason;
    note.title = reason;
    note.hidden = false;
  }

  // ---------- the page's structure, built once signed in ----------
  const KPIS = [
    { metric: 'hit_rate', field: 'hit_ratio', label: 'Hit rate', cls: 'hit', big: fmtPct,
      sub: (st) => fmtInt(n(st.hits) + n(st.semantic_hits)) + ' of ' + fmtInt(n(st.hits) + n(st.semantic_hits) + n(st.misses)) + ' lookups' },
    { metric: 'saved_cost', field: 'cost_saved_usd', label: 'Cost saved', big: fmtUSD,
      sub: () => 'USD the upstream did not bill' },
    { metric: 'time_saved', field: 'time_saved_seconds', label: 'Time saved', big: fmtDuration,
      sub: () => 'upstream time callers did not wait' },
    { metric: 'saved_tokens', field: 'saved_tokens', label: 'Tokens saved', big: fmtCompact,
      sub: (st) => fmtCompact(st.prompt_tokens_saved) + ' prompt · ' + fmtCompact(st.completion_tokens_saved) + ' completion' },
  ];
  const TILES = [
    { metric: 'requests', label: 'Requests', get: (st) => st.requests },
    { metric: 'hits', label: 'Exact hits', swatch: 'hit', get: (st) => st.hits },
    { metric: 'semantic_hits', label: 'Semantic hits', swatch: 'semantic_hit', get: (st) => st.semantic_hits },
    { metric: 'misses', label: 'Misses', swatch: 'miss', get: (st) => st.misses },
    { metric: 'bypasses', label: 'Bypasses', swatch: 'bypass', get: (st) => st.bypasses },
    { metric: 'entries', label: 'Entries', get: (st) => (st.store ? st.store.entries : undefined), store: true },
    { metric: 'stored_bytes', label: 'Stored', get: (st) => (st.store ? st.store.stored_bytes : undefined), store: true, bytes: true },
    { metric: 'store_errors', label: 'Store errors', alarm: true,
      get: (st) => (isNum(st.store_errors) ? st.store_errors : st.store ? st.store.store_errors : undefined) },
  ];
  const rawText = (v) => (isNum(v) ? String(v) : '');

  function mount() {
    state.mounted = true;
    $('auth').hidden = true;
    $('connecting').hidden = true;
    ui.metrics = {};
    const metric = (name) => (ui.metrics[name] = h('span', { class: 'num', dataset: { metric: name } }));

    const kpis = h('div', { class: 'kpis' }, KPIS.map((k) => {
      k.bigEl = h('div', { class: 'big', 'aria-hidden': 'true' }, '—');
      k.subEl = h('div', { class: 'sub' });
      k.rawEl = metric(k.metric);
      // The exact figure, under the name /admin/stats gives it.
      const raw = h('div', { class: 'raw mono' }, k.field + ' ', k.rawEl);
      return h('section', { class: 'panel kpi ' + (k.cls || ''), 'aria-label': k.label }, h('div', { class: 'label', text: k.label }), k.bigEl, k.subEl, raw);
    }));
    const tiles = h('div', { class: 'panel tiles' }, TILES.map((t) => {
      t.rawEl = metric(t.metric);
      t.hintEl = h('div', { class: 'hint' });
      t.el = h('section', { class: 'tile', 'aria-label': t.label },
        h('div', { class: 'label' }, t.swatch ? h('span', { class: 'sw c-' + t.swatch, 'aria-hidden': 'true' }) : null, t.label),
        t.valueEl = h('div', { class: 'value' }), t.hintEl);
      return t.el;
    }));

    ui.rangeButtons = ['hour', 'day'].map((range) => h('button', {
      type: 'button', 'aria-pressed': String(range === state.range), dataset: { range },
      onclick: () => setRange(range), text: range === 'hour' ? 'Last hour' : 'Last day' }));
    ui.charts = {
      requests: makeChart('requests', 'Requests per second, by outcome', OUTCOMES.map(([k, label]) => ['c-' + k, label, 'box'])),
      hitRate: makeChart('hit-rate', 'Hit rate', [['c-hit', 'exact + semantic hits ÷ lookups', 'line']]),
      latency: makeChart('latency', 'Latency (log scale)', [['c-hit', 'hit p50', 'line'], ['c-hit', 'hit p99', 'dash'], ['c-miss', 'miss p50', 'line'], ['c-miss', 'miss p99', 'dash']]),
      saved: makeChart('saved', 'Cost saved, cumulative', [['c-saved', 'USD saved since the start of the range', 'line']]),
    };

    ui.routeTable = h('div', { class: 'scroll' });
    ui.modelTable = h('div', { class: 'scroll' });
    ui.hitsTable = h('div', { class: 'scroll' });
    ui.hitsNote = h('span', { class: 'note' });

    $('dashboard').replaceChildren(
      h('section', { 'aria-label': 'Key figures since the proxy started' }, kpis, tiles),
      h('div', { class: 'section-head' }, h('h2', { text: 'Over time' }), ui.rangeNote = h('span', { class: 'note' }),
        h('div', { class: 'right seg', role: 'group', 'aria-label': 'Time range' }, ui.rangeButtons)),
      h('div', { class: 'charts' }, Object.values(ui.charts).map((c) => c.card)),
      h('div', { class: 'section-head' }, h('h2', { text: 'Where it pays' }), h('span', { class: 'note', text: 'since the proxy started' })),
      h('div', { class: 'tables' },
        h('section', { class: 'panel table-card', 'aria-labelledby': 'by-route-title' }, h('h3', { id: 'by-route-title', text: 'By API' }), ui.routeTable),
        h('section', { class: 'panel table-card', 'aria-labelledby': 'by-model-title' }, h('h3', { id: 'by-model-title', text: 'By model' }), ui.modelTable)),
      h('div', { class: 'section-head' }, h('h2', { id: 'hits-title', text: 'Recent semantic hits' }), ui.hitsNote),
      h('section', { class: 'panel table-card', 'aria-labelledby': 'hits-title' }, ui.hitsTable),
      h('div', { class: 'section-head' }, h('h2', { id: 'invalidate-title', text: 'Invalidate' }),
        h('span', { class: 'note', text: 'delete cached answers so the next request goes upstream' })),
      buildInvalidation(),
      h('p', { class: 'foot' }, 'Figures refresh every ' + REFRESH_MS / 1000 + ' s from ', h('code', { text: '/admin/stats' }), ', ',
        h('code', { text: '/admin/history' }), ', ', h('code', { text: '/admin/breakdown' }), ' and ', h('code', { text: '/admin/semantic-hits' }), '.'),
    );

    if (typeof ResizeObserver === 'function') {
      let pending = false; let lastWidth = 0;
      ui.resize = new ResizeObserver((entries) => {
        const width = Math.round(entries[0].contentRect.width);
        if (width === lastWidth || pending) return;
        lastWidth = width; pending = true;
        requestAnimationFrame(() => { pending = false; guard(renderCharts); });
      });
      ui.resize.observe(ui.charts.requests.plot);
    }
  }

  // ---------- key figures ----------
  function renderStats(st) {
    state.stats = st;
    for (const k of KPIS) {
      const value = st[k.field];
      k.rawEl.textContent = rawText(value);
      k.bigEl.textContent = k.big(value);
      k.subEl.textContent = isNum(value) ? k.sub(st) : 'not reported by this proxy';
      k.rawEl.parentNode.title = k.field + ' = ' + rawText(value);
    }
    for (const t of TILES) {
      const value = t.get(st);
      t.rawEl.textContent = rawText(value);
      t.el.classList.toggle('alarm', Boolean(t.alarm && value > 0));
      if (t.bytes) {
        t.valueEl.textContent = isNum(value) ? fmtBytes(value) : '—';
        t.hintEl.replaceChildren(t.rawEl, isNum(value) ? ' bytes' : (t.store ? 'store not reported' : ''));
      } else {
        t.valueEl.replaceChildren(t.rawEl);
        if (!isNum(value)) t.valueEl.append(h('span', { 'aria-hidden': 'true', text: '—' }));
        t.hintEl.textContent = !isNum(value) ? (t.store ? 'store not reported' : 'not reported')
          : value >= 10000 ? '≈ ' + fmtCompact(value)
          : t.metric === 'requests' && isNum(st.bypasses) ? 'since start' : '';
        if (t.metric === 'store_errors' && value > 0) t.hintEl.textContent = 'failed reads/writes, served as misses';
      }
    }
  }

  // ---------- charts ----------
  function makeChart(id, title, legend) {
    const chart = { id, index: -1, layout: null };
    chart.summary = h('span', { class: 'summary' });
    chart.plot = h('div', { class: 'plot' });
    chart.svg = s('svg', { role: 'img', tabindex: '0', height: '180', 'aria-label': title });
    chart.tip = h('div', { class: 'tip', hidden: true, 'aria-hidden': 'true' });
    chart.live = h('div', { class: 'sr-only', 'aria-live': 'polite' });
    chart.plot.append(chart.svg, chart.tip, chart.live);
    chart.card = h('section', { class: 'panel chart', 'aria-labelledby': 'chart-' + id },
      h('div', { class: 'card-head' }, h('h3', { id: 'chart-' + id, text: title }), chart.summary),
      h('div', { class: 'legend', 'aria-hidden': 'true' }, legend.map(([cls, label, shape]) =>
        h('span', null, h('span', { class: 'sw ' + cls + (shape === 'line' ? ' line' : shape === 'dash' ? ' dash' : '') }), label))),
      chart.plot);
    chart.svg.addEventListener('mousemove', (event) => guard(() => hoverAt(chart, event.clientX)));
    chart.svg.addEventListener('mouseleave', () => hideTip(chart));
    chart.svg.addEventListener('blur', () => hideTip(chart));
    chart.svg.addEventListener('focus', () => guard(() => { if (chart.index < 0) moveTo(chart, Infinity, true); }));
    chart.svg.addEventListener('keydown', (event) => guard(() => {
      const moves = { ArrowLeft: -1, ArrowRight: 1, Home: -Infinity, End: Infinity };
      if (event.key === 'Escape') { hideTip(chart); return; }
      if (!(event.key in moves)) return;
      event.preventDefault();
      const step = moves[event.key];
      moveTo(chart, Math.abs(step) === Infinity ? step : chart.index + step, true);
    }));
    return chart;
  }

  // The buckets in the range, sorted, with their times in seconds.
  function domainOf(history) {
    const span = history && history.range === 'day' ? 86400 : state.range === 'day' ? 86400 : 3600;
    let interval = history && isNum(history.interval_seconds) && history.interval_seconds > 0 ? history.interval_seconds : span / 360;
    const raw = history && Array.isArray(history.buckets) ? history.buckets : [];
    const buckets = raw.filter((b) => b && typeof b === 'object' && isNum(b.start))
      .map((b) => Object.assign({}, b, { t: toSeconds(b.start) }))
      .sort((a, b) => a.t - b.t);
    let end = toSeconds(history && history.now);
    if (!Number.isFinite(end)) end = buckets.length ? buckets[buckets.length - 1].t + interval : nowSeconds();
    const start = end - span;
    return { start, end, interval, buckets: buckets.filter((b) => b.t + interval > start && b.t <= end) };
  }

  function linearTicks(max, count = 4) {
    if (!(max > 0)) max = 1;
    const raw = max / count;
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const m = raw / power;
    const step = (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * power;
    const top = Math.ceil(max / step - 1e-9) * step;
    const ticks = [];
    for (let i = 0; i * step <= top + step / 2; i += 1) ticks.push(Number((i * step).toPrecision(12)));
    return { ticks, top: ticks[ticks.length - 1] };
  }
  function timeTicks(start, end, width) {
    const steps = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 14400, 21600, 43200, 86400];
    const most = Math.max(2, Math.floor(width / 70));
    const step = steps.find((candidate) => (end - start) / candidate <= most) || 86400;
    // Ticks on round local times: local = UTC − offset.
    const offset = new Date(end * 1000).getTimezoneOffset() * -60;
    const ticks = [];
    for (let t = Math.ceil((start + offset) / step) * step - offset; t <= end; t += step) ticks.push(t);
    return ticks;
  }

  // Draws a chart's axes and content; spec: { y(v) → 0…1, yTicks, yFmt, content(g, X, Y, box), rows(bucket) → tooltip rows, label, empty }.
  function draw(chart, dom, spec) {
    const svg = chart.svg;
    const W = Math.max(260, Math.floor(chart.plot.clientWidth || 560));
    const H = 180;
    const m = { t: 8, r: 8, b: 22, l: 50 };
    const iw = W - m.l - m.r; const ih = H - m.t - m.b;
    const X = (t) => m.l + ((t - dom.start) / (dom.end - dom.start)) * iw;
    const Y = (v) => m.t + ih - Math.max(0, Math.min(1, spec.y(v))) * ih;
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    svg.setAttribute('width', W);
    svg.setAttribute('height', H);
    svg.setAttribute('aria-label', spec.label);
    const axes = s('g', { class: 'axes', 'aria-hidden': 'true' });
    for (const v of spec.yTicks) {
      const y = Math.round(Y(v)) + 0.5;
      axes.append(s('line', { class: 'grid', x1: m.l, x2: W - m.r, y1: y, y2: y }),
        s('text', { x: m.l - 7, y, dy: '0.32em', 'text-anchor': 'end' }, spec.yFmt(v)));
    }
    const baseY = m.t + ih + 0.5;
    axes.append(s('line', { class: 'base', x1: m.l, x2: W - m.r, y1: baseY, y2: baseY }));
    for (const t of timeTicks(dom.start, dom.end, iw)) {
      const x = Math.round(X(t)) + 0.5;
      if (x < m.l + 14 || x > W - m.r - 14) continue;
      axes.append(s('line', { class: 'tick', x1: x, x2: x, y1: baseY, y2: baseY + 4 }),
        s('text', { x, y: H - 5, 'text-anchor': 'middle' }, clock(t, false)));
    }
    const series = s('g', { class: 'series', 'aria-hidden': 'true' });
    spec.content(series, X, Y, { m, iw, ih, W, H });
    const children = [axes, series];
    if (spec.empty) children.push(s('text', { class: 'empty', x: m.l + iw / 2, y: m.t + ih / 2, 'text-anchor': 'middle' }, spec.empty));
    chart.guide = s('line', { class: 'guide', y1: m.t, y2: m.t + ih, x1: 0, x2: 0, visibility: 'hidden' });
    children.push(chart.guide);
    svg.replaceChildren(...children);
    chart.layout = { dom, spec, X, m, iw, W };
    if (chart.index >= dom.buckets.length) chart.index = dom.buckets.length - 1;
    if (!chart.tip.hidden && chart.index >= 0) showTip(chart, chart.index); else hideTip(chart);
  }

  function hoverAt(chart, clientX) {
    const layout = chart.layout;
    if (!layout || layout.dom.buckets.length === 0) return;
    const rect = chart.svg.getBoundingClientRect();
    const px = (clientX - rect.left) * (layout.W / (rect.width || layout.W));
    const { dom } = layout;
    const t = dom.start + ((px - layout.m.l) / layout.iw) * (dom.end - dom.start);
    let best = -1; let bestDistance = Infinity;
    dom.buckets.forEach((b, i) => {
      const d = Math.abs(b.t + dom.interval / 2 - t);
      if (d < bestDistance) { bestDistance = d; best = i; }
    });
    const tolerance = Math.max(dom.interval, ((dom.end - dom.start) / layout.iw) * 12);
    if (best < 0 || bestDistance > tolerance) { hideTip(chart); return; }
    showTip(chart, best);
  }
  function moveTo(chart, index, announce) {
    const layout = chart.layout;
    if (!layout || layout.dom.buckets.length === 0) return;
    const last = layout.dom.buckets.length - 1;
    const i = index === Infinity ? last : index === -Infinity ? 0 : Math.max(0, Math.min(last, index));
    showTip(chart, i);
    if (announce) chart.live.textContent = chart.tip.textContent;
  }
  function showTip(chart, index) {
    const { dom, spec, X, W } = chart.layout;
    const b = dom.buckets[index];
    if (!b) { hideTip(chart); return; }
    chart.index = index;
    const x = X(b.t + dom.interval / 2);
    chart.guide.setAttribute('x1', x); chart.guide.setAttribute('x2', x);
    chart.guide.setAttribute('visibility', 'visible');
    const when = clock(b.t, true) + '–' + clock(b.t + dom.interval, true);
    chart.tip.replaceChildren(h('div', { class: 'when', text: when }),
      spec.rows(b).map(([cls, label, value, shape]) => h('div', { class: 'row' },
        cls ? h('span', { class: 'sw ' + cls + (shape ? ' ' + shape : '') }) : null, h('span', { text: label }), h('b', { text: value }))));
    chart.tip.hidden = false;
    const scale = (chart.plot.clientWidth || W) / W;
    const width = chart.tip.offsetWidth || 180;
    let left = x * scale + 12;
    if (left + width > (chart.plot.clientWidth || W)) left = x * scale - width - 12;
    chart.tip.style.left = Math.max(0, left) + 'px';
  }
  function hideTip(chart) {
    chart.tip.hidden = true;
    if (chart.guide) chart.guide.setAttribute('visibility', 'hidden');
    chart.index = -1;
  }

  function renderCharts() {
    if (!state.mounted || !state.history) return;
    const dom = domainOf(state.history);
    const span = dom.end - dom.start;
    ui.rangeNote.textContent = (span >= 86400 ? 'last 24 hours' : 'last 60 minutes') + ', in ' + fmtSpan(dom.interval) + ' buckets';
    const count = (b, k) => n(b.requests && b.requests[k]);
    const rangeName = span >= 86400 ? 'the last day' : 'the last hour';

    // Requests per second, stacked by outcome.
    {
      const rates = dom.buckets.map((b) => OUTCOMES.map(([k]) => count(b, k) / dom.interval));
      let peak = 0; let total = 0;
      rates.forEach((r, i) => {
        peak = Math.max(peak, r.reduce((a, c) => a + c, 0));
        total += OUTCOMES.reduce((a, [k]) => a + count(dom.buckets[i], k), 0);
      });
      const { ticks, top } = linearTicks(peak || 1);
      ui.charts.requests.summary.textContent = fmtInt(total) + ' ' + plural(total, 'request', 'requests') + ' · peak ' + fmtRate(peak) + '/s';
      draw(ui.charts.requests, dom, {
        label: 'Requests per second by outcome over ' + rangeName + ': ' + total + ' requests, peak ' + fmtRate(peak) + ' per second.',
        y: (v) => v / top, yTicks: ticks, yFmt: (v) => fmtRate(v) + '/s',
        empty: total === 0 ? 'No requests in ' + rangeName : null,
        content: (g, X, Y) => {
          dom.buckets.forEach((b, i) => {
            const x0 = X(b.t); const x1 = X(b.t + dom.interval);
            const w = x1 - x0; const gap = w > 4 ? Math.min(1.5, w * 0.2) : 0;
            let acc = 0;
            OUTCOMES.forEach(([k], j) => {
              const r = rates[i][j];
              if (r <= 0) return;
              const yTop = Y(acc + r); const yBottom = Y(acc);
              g.append(s('rect', { class: 'data o-' + k, x: (x0 + gap / 2).toFixed(2), y: yTop.toFixed(2), width: Math.max(2, w - gap).toFixed(2), height: Math.max(0.6, yBottom - yTop).toFixed(2) }));
              acc += r;
            });
          });
        },
        rows: (b) => {
          const rows = OUTCOMES.filter(([k]) => count(b, k) > 0).map(([k, label]) => ['c-' + k, label, fmtInt(count(b, k)) + '  (' + fmtRate(count(b, k) / dom.interval) + '/s)']);
          return rows.length ? rows : [[null, 'No requests', '']];
        },
      });
    }

    // Hit rate over windows of about a sixtieth of the range (a single 10 s
    // bucket holds too few lookups to read), broken where a window had none.
    {
      const served = (b) => count(b, 'hit') + count(b, 'semantic_hit');
      const per = Math.max(1, Math.round((dom.end - dom.start) / dom.interval / 60));
      const width = per * dom.interval;
      const windowOf = (b) => Math.floor((b.t - dom.start) / width);
      const windows = new Map();
      let allServed = 0; let allLookups = 0;
      for (const b of dom.buckets) {
        const w = windowOf(b);
        const sum = windows.get(w) || { served: 0, lookups: 0 };
        sum.served += served(b); sum.lookups += served(b) + count(b, 'miss');
        windows.set(w, sum);
        allServed += served(b); allLookups += served(b) + count(b, 'miss');
      }
      const overall = allLookups > 0 ? allServed / allLookups : null;
      const points = [];
      if (windows.size) {
        const keys = [...windows.keys()];
        for (let w = Math.min(...keys); w <= Math.max(...keys); w += 1) {
          const sum = windows.get(w);
          points.push({ x: dom.start + (w + 0.5) * width, v: sum && sum.lookups > 0 ? sum.served / sum.lookups : null });
        }
      }
      ui.charts.hitRate.summary.textContent = overall === null ? 'no lookups' : fmtPct(overall) + ' over ' + rangeName + (per > 1 ? ' · per ' + fmtSpan(width) : '');
      draw(ui.charts.hitRate, dom, {
        label: 'Hit rate over ' + rangeName + ': ' + (overall === null ? 'no lookups.' : fmtPct(overall) + ' of ' + allLookups + ' lookups.'),
        y: (v) => v, yTicks: [0, 0.25, 0.5, 0.75, 1], yFmt: (v) => fmtPct(v, 0),
        empty: overall === null ? 'No lookups in ' + rangeName : null,
        content: (g, X, Y) => {
          if (overall !== null) {
            const y = Y(overall);
            g.append(s('line', { class: 'ref', x1: X(dom.start), x2: X(dom.end), y1: y, y2: y }));
          }
          linePath(g, points, X, Y, 'l-hit', 'pt-hit');
        },
        rows: (b) => {
          const sum = windows.get(windowOf(b));
          if (!sum || sum.lookups === 0) return [[null, 'No lookups', '']];
          const rows = [['c-hit', per > 1 ? 'Hit rate (' + fmtSpan(width) + ')' : 'Hit rate', fmtPct(sum.served / sum.lookups), 'line'],
            [null, 'Served from cache', fmtInt(sum.served) + ' of ' + fmtInt(sum.lookups)]];
          if (overall !== null) rows.push([null, 'Whole range', fmtPct(overall)]);
          return rows;
        },
      });
    }

    // Latency percentiles on a log scale.
    {
      const SERIES = [['hit', 'p50', 'hit p50', false], ['hit', 'p99', 'hit p99', true], ['miss', 'p50', 'miss p50', false], ['miss', 'p99', 'miss p99', true]];
      const value = (b, outcome, p) => {
        const v = b.latency_ms && b.latency_ms[outcome] && b.latency_ms[outcome][p];
        return isNum(v) && v >= 0 ? v : null;
      };
      let lo = Infinity; let hi = 0;
      for (const b of dom.buckets) for (const [o, p] of SERIES) { const v = value(b, o, p); if (v !== null) { if (v > 0) lo = Math.min(lo, v); hi = Math.max(hi, v); } }
      const any = hi > 0;
      let low = any && Number.isFinite(lo) ? Math.pow(10, Math.floor(Math.log10(lo))) : 1;
      let high = any ? Math.pow(10, Math.ceil(Math.log10(hi))) : 1000;
      if (high <= low) high = low * 10;
      low = Math.max(low, 0.001);
      const decades = Math.round(Math.log10(high / low));
      const every = decades > 5 ? 2 : 1;
      const ticks = [];
      for (let d = 0; d <= decades; d += every) ticks.push(low * Math.pow(10, d));
      const y = (v) => (Math.log10(Math.max(v, low)) - Math.log10(low)) / Math.log10(high / low);
      const latest = (o) => { for (let i = dom.buckets.length - 1; i >= 0; i -= 1) { const v = value(dom.buckets[i], o, 'p50'); if (v !== null) return v; } return null; };
      const hitNow = latest('hit'); const missNow = latest('miss');
      ui.charts.latency.summary.textContent = any ? 'latest p50: hit ' + fmtMs(hitNow) + ' · miss ' + fmtMs(missNow) : 'no timings';
      draw(ui.charts.latency, dom, {
        label: 'Latency of hits and misses over ' + rangeName + (any ? ': latest median of hits ' + fmtMs(hitNow) + ', of misses ' + fmtMs(missNow) + '.' : ': no timings.'),
        y, yTicks: ticks, yFmt: fmtMs,
        empty: any ? null : 'No timings in ' + rangeName,
        content: (g, X, Y) => {
          for (const [o, p, , dashed] of SERIES) {
            const points = dom.buckets.map((b) => ({ x: b.t + dom.interval / 2, v: value(b, o, p) }));
            linePath(g, points, X, Y, 'l-' + o + (dashed ? ' dashed' : ''), (dashed ? 'ring-' : 'pt-') + o);
          }
        },
        rows: (b) => {
          const rows = SERIES.filter(([o, p]) => value(b, o, p) !== null).map(([o, p, label, dashed]) => ['c-' + o, label, fmtMs(value(b, o, p)), dashed ? 'dash' : 'line']);
          return rows.length ? rows : [[null, 'No timings', '']];
        },
      });
    }

    // Cost saved, cumulative over the range.
    {
      let total = 0; let tokens = 0;
      const cumulative = dom.buckets.map((b) => { total += n(b.saved_cost_usd); tokens += n(b.saved_tokens); return total; });
      const { ticks, top } = linearTicks(total > 0 ? total : 0.01);
      ui.charts.saved.summary.textContent = fmtUSD(total) + ' · ' + fmtCompact(tokens) + ' tokens in ' + rangeName;
      draw(ui.charts.saved, dom, {
        label: 'Cost saved over ' + rangeName + ': ' + fmtUSD(total) + ' and ' + tokens + ' tokens.',
        y: (v) => v / top, yTicks: ticks, yFmt: fmtUSD,
        empty: total === 0 ? 'Nothing saved in ' + rangeName + ' yet' : null,
        content: (g, X, Y) => {
          if (dom.buckets.length === 0) return;
          const base = Y(0);
          let d = 'M' + X(dom.start).toFixed(2) + ' ' + base.toFixed(2);
          let previous = 0;
          dom.buckets.forEach((b, i) => {
            d += ' L' + X(b.t).toFixed(2) + ' ' + Y(previous).toFixed(2) + ' L' + X(b.t + dom.interval).toFixed(2) + ' ' + Y(cumulative[i]).toFixed(2);
            previous = cumulative[i];
          });
          d += ' L' + X(dom.end).toFixed(2) + ' ' + Y(previous).toFixed(2);
          g.append(s('path', { class: 'area', d: d + ' L' + X(dom.end).toFixed(2) + ' ' + base.toFixed(2) + ' Z' }),
            s('path', { class: 'data line l-saved', d }));
        },
        rows: (b) => {
          const i = dom.buckets.indexOf(b);
          return [['c-saved', 'Saved so far', fmtUSD(cumulative[i]), 'line'], [null, 'In this bucket', fmtUSD(n(b.saved_cost_usd))], [null, 'Tokens saved', fmtInt(n(b.saved_tokens))]];
        },
      });
    }
  }

  // A line through points ({x: time, v: value}), broken where v is null; a lone point gets a dot.
  function linePath(g, points, X, Y, lineClass, dotClass) {
    let d = ''; let run = [];
    const flush = () => {
      if (run.length === 1 && dotClass) g.append(s('circle', { class: 'data ' + dotClass, cx: run[0][0].toFixed(2), cy: run[0][1].toFixed(2), r: dotClass.startsWith('ring') ? 4.5 : 2.5 }));
      run = [];
    };
    for (const point of points) {
      if (point.v === null || point.v === undefined) { flush(); continue; }
      const xy = [X(point.x), Y(point.v)];
      d += (run.length ? ' L' : ' M') + xy[0].toFixed(2) + ' ' + xy[1].toFixed(2);
      run.push(xy);
    }
    flush();
    if (d) g.append(s('path', { class: 'data line ' + lineClass, d: d.trim() }));
  }

  function setRange(range) {
    if (range === state.range) return;
    state.range = range;
    for (const button of ui.rangeButtons) button.setAttribute('aria-pressed', String(button.dataset.range === range));
    state.history = null;
    refresh();
  }

  // ---------- breakdown tables ----------
  function renderBreakdown(breakdown) {
    const key = JSON.stringify(breakdown);
    if (state.rendered.breakdown === key) return;
    state.rendered.breakdown = key;
    const routes = breakdown && typeof breakdown.by_route === 'object' && breakdown.by_route ? breakdown.by_route : {};
    const models = breakdown && typeof breakdown.by_model === 'object' && breakdown.by_model ? breakdown.by_model : {};
    const routeNames = Object.keys(ROUTES).filter((r) => r in routes).concat(Object.keys(routes).filter((r) => !(r in ROUTES)));
    ui.routeTable.replaceChildren(breakdownTable('API', routeNames.map((name) => [
      ROUTES[name] ? [ROUTES[name][0], h('span', { class: 'path mono', text: ROUTES[name][1] })] : [name], routes[name]]), 'No requests yet'));
    const modelNames = Object.keys(models).sort((a, b) => {
      if (a === 'other') return 1;
      if (b === 'other') return -1;
      return n(models[b] && models[b].requests) - n(models[a] && models[a].requests) || a.localeCompare(b);
    });
    ui.modelTable.replaceChildren(breakdownTable('Model', modelNames.map((name) => [
      name === 'other' ? [h('span', { text: 'other models', title: 'models beyond the ones listed, together' })] : [h('span', { class: 'mono', text: name })], models[name]]),
      'No requests yet'));
  }
  function breakdownTable(first, rows, emptyText) {
    const head = h('tr', null, [first, 'Requests', 'Hit rate', 'Hits', 'Semantic', 'Misses', 'Bypasses', 'Errors', 'Tokens saved', 'Saved'].map((label) => h('th', { scope: 'col', text: label })));
    const body = h('tbody');
    for (const [name, row] of rows) {
      const r = row && typeof row === 'object' ? row : {};
      const served = n(r.hits) + n(r.semantic_hits);
      const lookups = served + n(r.misses);
      const rate = lookups > 0 ? served / lookups : null;
      body.append(h('tr', { class: n(r.requests) === 0 ? 'idle' : null },
        h('th', { scope: 'row', style: 'font-weight: 550' }, name),
        h('td', { text: fmtInt(n(r.requests)) }),
        h('td', null, rate === null ? '—' : h('span', { class: 'meter' }, fmtPct(rate, 0), h('span', { class: 'bar', 'aria-hidden': 'true' }, h('i', { style: 'width: ' + (rate * 100).toFixed(1) + '%' })))),
        h('td', { text: fmtInt(n(r.hits)) }), h('td', { text: fmtInt(n(r.semantic_hits)) }), h('td', { text: fmtInt(n(r.misses)) }),
        h('td', { text: fmtInt(n(r.bypasses)) }), h('td', { text: fmtInt(n(r.errors)) }),
        h('td', { text: fmtCompact(n(r.saved_tokens)) }), h('td', { text: fmtUSD(n(r.saved_cost_usd)) })));
    }
    if (rows.length === 0) body.append(h('tr', { class: 'empty-row' }, h('td', { colspan: '10', text: emptyText })));
    return h('table', null, h('thead', null, head), body);
  }

  // ---------- semantic hits ----------
  function renderSemantic(payload, unavailable) {
    const key = unavailable ? 'unavailable:' + unavailable.message : JSON.stringify(payload);
    if (state.rendered.semantic === key) return;
    state.rendered.semantic = key;
    const focusedKey = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.reportKey : undefined;
    if (unavailable) {
      ui.hitsNote.textContent = '';
      ui.hitsTable.replaceChildren(h('p', { class: 'message info', style: 'margin: 0 16px 8px' }, unavailable.status === 409
        ? 'Semantic matching is off on this proxy, so it serves no semantic hits. (' + unavailable.message + ')'
        : 'This proxy does not list semantic hits (' + unavailable.message + ').'));
      return;
    }
    const hits = payload && Array.isArray(payload.hits) ? payload.hits.filter((x) => x && typeof x === 'object') : [];
    ui.hitsNote.textContent = hits.length ? 'newest first · report one that answered the wrong question' : '';
    const head = h('tr', null, h('th', { scope: 'col', text: 'When' }), h('th', { scope: 'col', text: 'Similarity' }),
      h('th', { scope: 'col', class: 'who', text: 'Request' }), h('th', { scope: 'col', class: 'who', text: 'API · model' }),
      h('th', { scope: 'col', text: 'Entry key' }), h('th', { scope: 'col' }, h('span', { class: 'sr-only', text: 'Action' })));
    const body = h('tbody');
    for (const hit of hits) {
      const at = toSeconds(hit.at);
      const fullKey = typeof hit.key === 'string' ? hit.key : '';
      const report = state.reports.get(fullKey);
      const action = h('td');
      if (report) action.append(h('span', { class: 'result ' + report.kind, role: 'status', text: report.text }));
      else if (fullKey) {
        action.append(h('button', { class: 'btn small', type: 'button', dataset: { reportKey: fullKey },
          'aria-label': 'Wrong answer: report the semantic hit on entry ' + fullKey.slice(0, 12),
          onclick: () => reportHit(hit), text: 'Wrong answer' }));
      }
      body.append(h('tr', null,
        h('td', { title: Number.isFinite(at) ? new Date(at * 1000).toLocaleString() : '' , text: Number.isFinite(at) ? clock(at, true) : '—' }),
        h('td', { text: isNum(hit.similarity) ? hit.similarity.toFixed(3) : '—' }),
        h('td', { class: 'text' }, h('span', { title: String(hit.text || ''), text: String(hit.text || '') })),
        h('td', { class: 'who' }, (ROUTES[hit.route] ? ROUTES[hit.route][0] : String(hit.route || '—')) + ' · ', h('span', { class: 'mono', text: String(hit.model || '—') })),
        h('td', { class: 'key' }, h('code', { title: fullKey, tabindex: fullKey ? '0' : null, 'aria-label': 'entry key ' + fullKey, text: fullKey ? fullKey.slice(0, 12) + '…' : '—' })),
        action));
    }
    if (hits.length === 0) body.append(h('tr', { class: 'empty-row' }, h('td', { colspan: '6', text: 'No semantic hits yet: requests answered by meaning show up here.' })));
    ui.hitsTable.replaceChildren(h('table', { class: 'hits' }, h('thead', null, head), body));
    if (focusedKey) {
      const again = ui.hitsTable.querySelector('[data-report-key="' + CSS.escape(focusedKey) + '"]');
      if (again) again.focus();
    }
  }
  async function reportHit(hit) {
    const ok = await confirmAction({
      title: 'Report a wrong answer?',
      body: 'The cached answer to “' + String(hit.text || '').slice(0, 120) + '” was served by meaning (similarity ' + (isNum(hit.similarity) ? hit.similarity.toFixed(3) : '?') +
        '). Reporting it stops that entry from being served for other wordings; it still answers its own exact request.',
      detail: 'POST /admin/incorrect-hit {"key": "' + hit.key + '"}',
      confirm: 'Report wrong answer',
    });
    if (!ok) return;
    try {
      const result = await api('admin/incorrect-hit', { method: 'POST', body: { key: hit.key } });
      state.reports.set(hit.key, { kind: 'ok', text: 'Reported ✓ ' + String(result.reported || hit.key).slice(0, 8) + '…' });
    } catch (error) {
      if (isDenied(error)) { deny(error); return; }
      state.reports.set(hit.key, { kind: 'error', text: 'Not reported: ' + error.message });
    }
    state.rendered.semantic = null;
    refresh();
  }

  // ---------- invalidation ----------
  const KINDS = {
    tag: { label: 'Tag', placeholder: 'faq', help: 'Every entry stored with this tag in its X-Cache-Tags header.', what: (v) => 'every entry tagged “' + v + '”' },
    model: { label: 'Model pattern', placeholder: 'gpt-4o*', help: 'Every entry for a model matching this glob (* and ? wildcards), in every namespace.', what: (v) => 'every entry whose model matches “' + v + '”' },
    namespace: { label: 'Namespace', placeholder: 'team-a', help: 'Every entry in this namespace (one tenant, or the shared namespace).', what: (v) => 'every entry in the namespace “' + v + '”' },
  };
  function buildInvalidation() {
    const input = h('input', { id: 'invalidate-value', name: 'value', type: 'text', required: true, spellcheck: 'false', autocomplete: 'off', placeholder: KINDS.tag.placeholder, 'aria-describedby': 'invalidate-help' });
    const valueLabel = h('label', { for: 'invalidate-value', text: KINDS.tag.label });
    const help = h('p', { id: 'invalidate-help', class: 'help', text: KINDS.tag.help });
    const outcome = h('div', { id: 'invalidate-result', class: 'outcome', role: 'status', 'aria-live': 'polite' });
    const review = h('button', { id: 'invalidate-review', class: 'btn primary', type: 'submit', text: 'Review…' });
    const kinds = h('div', { class: 'kinds' }, Object.entries(KINDS).map(([kind, k], i) => h('label', null,
      h('input', { type: 'radio', name: 'kind', value: kind, checked: i === 0 }), k.label)));
    const form = h('form', { id: 'invalidate-form', novalidate: true },
      h('fieldset', null, h('legend', { text: 'Select entries by' }), kinds),
      h('div', { class: 'field' }, valueLabel, input),
      review);
    form.addEventListener('change', (event) => {
      if (event.target.name !== 'kind') return;
      const k = KINDS[event.target.value];
      valueLabel.textContent = k.label; input.placeholder = k.placeholder; help.textContent = k.help;
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const kind = form.elements.kind.value || 'tag';
      const value = input.value.trim();
      const show = (cls, ...parts) => { outcome.className = 'outcome message ' + cls; outcome.replaceChildren(...parts); };
      if (!value) { show('error', 'Enter a ' + KINDS[kind].label.toLowerCase() + ' first.'); input.focus(); return; }
      const body = { [kind]: value };
      const ok = await confirmAction({
        title: 'Invalidate ' + KINDS[kind].what(value) + '?',
        body: 'Matching entries are deleted from the store; their next request goes to the upstream and is cached again. This cannot be undone.',
        detail: 'POST /admin/invalidate ' + JSON.stringify(body),
        confirm: 'Invalidate',
      });
      if (!ok) { show('info', 'Cancelled: nothing was invalidated.'); return; }
      review.disabled = true;
      show('info', 'Invalidating…');
      try {
        const result = await api('admin/invalidate', { method: 'POST', body });
        const count = n(result.invalidated);
        show('info', h('strong', { text: 'Invalidated ' }), h('strong', { class: 'num', dataset: { invalidated: String(count) }, text: String(count) }),
          h('strong', { text: ' ' + plural(count, 'entry', 'entries') }), ' (' + (result.selector || JSON.stringify(body)) + ').');
        refresh();
      } catch (error) {
        if (isDenied(error)) { deny(error); return; }
        show('error', 'Nothing invalidated: ' + error.message);
      } finally { review.disabled = false; }
    });
    return h('section', { class: 'panel inv', 'aria-labelledby': 'invalidate-title' }, form, help, outcome);
  }

  // ---------- confirmation ----------
  function confirmAction({ title, body, detail, confirm }) {
    const dialog = $('confirm');
    $('confirm-title').textContent = title;
    $('confirm-body').textContent = body;
    $('confirm-detail').textContent = detail;
    $('confirm-ok').textContent = confirm;
    if (typeof dialog.showModal !== 'function') return Promise.resolve(window.confirm(title + '\n\n' + body));
    const opener = document.activeElement;
    dialog.returnValue = '';
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => {
        resolve(dialog.returnValue === 'confirm');
        if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
      }, { once: true });
      dialog.showModal();
    });
  }

  // ---------- start ----------
  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('token-input').value.trim();
    if (token) start(token);
  });
  $('sign-out').addEventListener('click', signOut);
  document.addEventListener('visibilitychange', () => { if (!document.hidden && state.mounted) refresh(); });
  const token = tokenFromFragment() || storedToken();
  if (token) start(token); else { showAuth(null, []); }
})();
</script>
</body>
</html>
"""#
}
