import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';

// The only stylesheet: inline, allowed by the CSP through the per-response nonce; no external assets.
const CSS = `
:root{color-scheme:light dark;--fg:#1b1f24;--muted:#5c6670;--bg:#f6f7f9;--card:#fff;--line:#d9dee3;
--accent:#2457c5;--ok:#1a7f37;--bad:#c0362c;--warn:#9a6700}
@media (prefers-color-scheme:dark){:root{--fg:#e6e9ed;--muted:#9aa4ae;--bg:#111418;--card:#1a1f25;
--line:#2d343c;--accent:#6d9bff;--ok:#4ac26b;--bad:#ff7b72;--warn:#d4a72c}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;
padding:.75rem 1rem;border-bottom:1px solid var(--line);background:var(--card)}
header strong{font-size:1.05rem}
header nav{display:flex;gap:1rem;flex-wrap:wrap;align-items:center}
main{max-width:68rem;margin:0 auto;padding:1rem}
main.narrow{max-width:28rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem}
h2{font-size:1.15rem;margin:0 0 .75rem}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1rem;margin:0 0 1rem}
a{color:var(--accent)}
label{display:block;margin:.75rem 0 .25rem;font-weight:600}
input[type=text],input[type=email],input[type=password],select{width:100%;padding:.55rem .6rem;font:inherit;
color:inherit;background:var(--bg);border:1px solid var(--line);border-radius:6px}
fieldset{border:1px solid var(--line);border-radius:6px;margin:.75rem 0;padding:.5rem .75rem}
fieldset label{display:inline-flex;gap:.35rem;font-weight:400;margin:.25rem 1rem .25rem 0}
button{font:inherit;padding:.5rem 1rem;border-radius:6px;border:1px solid var(--accent);background:var(--accent);
color:#fff;cursor:pointer}
button.plain{background:transparent;color:var(--accent)}
button.danger{background:transparent;color:var(--bad);border-color:var(--bad)}
form.inline{display:inline}
.actions{margin-top:1rem}
.muted{color:var(--muted)}
.error{border-color:var(--bad);color:var(--bad)}
.notice{border-color:var(--ok)}
.secret{display:block;padding:.75rem;margin:.5rem 0;font:15px/1.4 ui-monospace,Menlo,Consolas,monospace;
word-break:break-all;background:var(--bg);border:1px dashed var(--ok);border-radius:6px;user-select:all}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem;margin:0}
dt{color:var(--muted)}dd{margin:0}
.badge{display:inline-block;padding:0 .5rem;border-radius:999px;border:1px solid currentColor;font-size:.85rem}
.badge.active{color:var(--ok)}.badge.pending{color:var(--warn)}.badge.suspended,.badge.revoked{color:var(--bad)}
.table{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{text-align:left;padding:.45rem .4rem;border-bottom:1px solid var(--line);vertical-align:top}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}
figure{margin:0}
svg{width:100%;height:auto;display:block}
td.when{white-space:nowrap}
.legend{display:flex;gap:1rem;flex-wrap:wrap;font-size:.9rem;margin-top:.5rem}
.swatch{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin-right:.3rem;vertical-align:-1px}
.s-requests{background:#8c959f}.s-allowed{background:#2da44e}.s-rate_limited{background:#cf222e}
`;

export function Layout(props: {
  title: string;
  nonce: string;
  tenantName: string;
  nav?: Child;
  narrow?: boolean;
  children: Child;
}) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{`${props.title} · ${props.tenantName}`}</title>
        <style nonce={props.nonce}>{raw(CSS)}</style>
      </head>
      <body>
        <header>
          <strong>{props.tenantName}</strong>
          {props.nav}
        </header>
        <main class={props.narrow ? 'narrow' : undefined}>{props.children}</main>
      </body>
    </html>
  );
}
