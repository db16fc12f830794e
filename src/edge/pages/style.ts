// The one stylesheet of the gateway's pages, the tenant console's and the operator dashboard's alike: inline,
// allowed by the CSP through the per-response nonce; no external assets. Laid out for 390 px phones up: no
// element is wider than the screen (tables turn into cards, long codes wrap, the chart stretches).
export const PAGE_CSS = `
:root{color-scheme:light dark;--fg:#1b1f24;--muted:#5c6670;--bg:#f6f7f9;--card:#fff;--line:#d9dee3;
--accent:#2457c5;--ok:#1a7f37;--bad:#c0362c;--warn:#9a6700}
@media (prefers-color-scheme:dark){:root{--fg:#e6e9ed;--muted:#9aa4ae;--bg:#111418;--card:#1a1f25;
--line:#2d343c;--accent:#6d9bff;--ok:#4ac26b;--bad:#ff7b72;--warn:#d4a72c}}
*{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;
padding:.75rem 1rem;border-bottom:1px solid var(--line);background:var(--card)}
header strong{font-size:1.05rem}
header nav{display:flex;gap:.25rem 1rem;flex-wrap:wrap;align-items:center;min-width:0}
main{max-width:68rem;margin:0 auto;padding:1rem}
main.narrow{max-width:28rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem;overflow-wrap:anywhere}
h2{font-size:1.15rem;margin:0 0 .75rem}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1rem;margin:0 0 1rem;min-width:0}
a{color:var(--accent)}
label{display:block;margin:.75rem 0 .25rem;font-weight:600}
input[type=text],input[type=email],input[type=password],input[type=number],input[type=search],select{width:100%;
padding:.55rem .6rem;font:inherit;color:inherit;background:var(--bg);border:1px solid var(--line);border-radius:6px}
fieldset{border:1px solid var(--line);border-radius:6px;margin:.75rem 0;padding:.5rem .75rem;min-width:0}
fieldset label{display:inline-flex;gap:.35rem;font-weight:400;margin:.25rem 1rem .25rem 0}
button,.button{font:inherit;padding:.5rem 1rem;border-radius:6px;border:1px solid var(--accent);background:var(--accent);
color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
button.plain{background:transparent;color:var(--accent)}
button.danger{background:transparent;color:var(--bad);border-color:var(--bad)}
form.inline{display:inline}
.row{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end}
.row>*{flex:1 1 12rem;min-width:0}
.row>.actions{flex:0 0 auto}
.actions{margin-top:1rem}
.muted{color:var(--muted)}
.error{border-color:var(--bad);color:var(--bad)}
.notice{border-color:var(--ok)}
.secret{display:block;padding:.75rem;margin:.5rem 0;font:15px/1.4 ui-monospace,Menlo,Consolas,monospace;
word-break:break-all;background:var(--bg);border:1px dashed var(--ok);border-radius:6px;user-select:all}
dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.35rem 1rem;margin:0}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
.badge{display:inline-block;padding:0 .5rem;border-radius:999px;border:1px solid currentColor;font-size:.85rem}
.badge.active{color:var(--ok)}.badge.pending,.badge.expired{color:var(--warn)}
.badge.suspended,.badge.revoked{color:var(--bad)}.badge.draining{color:var(--warn)}
meter{width:7rem;vertical-align:middle}
.table{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{text-align:left;padding:.45rem .4rem;border-bottom:1px solid var(--line);vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em;overflow-wrap:anywhere}
td.when{white-space:nowrap}
@media (min-width:721px){td[data-label=Key] code{white-space:nowrap}}
@media (max-width:720px){
table.cards thead{display:none}
table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:100%}
table.cards tr{border:1px solid var(--line);border-radius:6px;margin:0 0 .75rem;padding:.25rem .5rem}
table.cards td{border:0;padding:.2rem 0;display:flex;flex-wrap:wrap;align-items:baseline;gap:.25rem .5rem;
text-align:left;overflow-wrap:anywhere}
table.cards td::before{content:attr(data-label);color:var(--muted);flex:0 0 7rem}
table.cards td[data-label=""]::before{display:none}
table.cards td.when{white-space:normal}
}
figure{margin:0}
.chart-body{display:grid;grid-template-columns:auto minmax(0,1fr);gap:.5rem}
.y-labels{display:flex;flex-direction:column;justify-content:space-between;font-size:.8rem;color:var(--muted);
text-align:right;line-height:1;height:160px}
.chart svg{display:block;width:100%;height:160px}
.x-labels{display:flex;justify-content:space-between;font-size:.8rem;color:var(--muted);margin:.25rem 0 0 2.5rem}
.legend{display:flex;gap:.25rem 1rem;flex-wrap:wrap;font-size:.9rem;margin-top:.5rem}
.swatch{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin-right:.3rem;vertical-align:-1px}
.s-allowed{background:#2da44e}.s-rate_limited{background:#d4a72c}.s-unauthorized{background:#8250df}
.s-backend_4xx{background:#fb8f44}.s-backend_5xx{background:#cf222e}.s-gateway_errors{background:#57606a}
details{margin-top:.5rem}summary{cursor:pointer;color:var(--accent)}
svg.spark{display:block;width:7rem;height:1.5rem}
.copy{margin-left:.5rem}
`;

/** Fill of each chart series (an SVG attribute, so the CSP's style rules do not apply to it). */
export const SERIES_COLORS = {
  allowed: '#2da44e',
  rate_limited: '#d4a72c',
  unauthorized: '#8250df',
  backend_4xx: '#fb8f44',
  backend_5xx: '#cf222e',
  gateway_errors: '#57606a',
} as const;

/**
 * Progressive enhancement, the pages' only script (allowed by the nonce): a "Copy" button beside a secret
 * shown once. Without JavaScript the button stays hidden and the secret is selected by a click (user-select).
 */
export const COPY_SCRIPT = `
for (const b of document.querySelectorAll('button[data-copy]')) {
  const target = document.getElementById(b.dataset.copy);
  if (!target) continue;
  b.hidden = false;
  b.addEventListener('click', () => {
    const text = target.textContent.trim();
    const done = () => { b.textContent = 'Copied'; };
    const select = () => {
      const range = document.createRange();
      range.selectNodeContents(target);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      b.textContent = 'Selected: press Ctrl-C';
    };
    if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, select);
    else select();
  });
}
`;
