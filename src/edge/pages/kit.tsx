// What the tenant console and the operator dashboard (src/control/dashboard, through the edge's entry) draw
// alike: the page shell with its one stylesheet and script, the usage chart, the sparkline, the copy button.
import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import { chartGeometry, SERIES, SERIES_LABELS, type UsageDay } from '../../core/usage/usage-chart';
import { COPY_SCRIPT, PAGE_CSS, SERIES_COLORS } from './style';

const compact = new Intl.NumberFormat('en', { notation: 'compact' });
const plain = new Intl.NumberFormat('en');

/** A whole page: `brand` on the left of the header, `nav` on its right. */
export function PageShell(props: {
  title: string;
  nonce: string;
  brand: Child;
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
        {/* No /favicon.ico request: on a tenant host it would be forwarded, and counted, as the tenant's traffic. */}
        <link rel="icon" href="data:," />
        <title>{props.title}</title>
        <style nonce={props.nonce}>{raw(PAGE_CSS)}</style>
      </head>
      <body>
        <header>
          <strong>{props.brand}</strong>
          {props.nav}
        </header>
        <main class={props.narrow ? 'narrow' : undefined}>{props.children}</main>
        <script nonce={props.nonce}>{raw(COPY_SCRIPT)}</script>
      </body>
    </html>
  );
}

/** A form's refusal above it, when there is one. */
export function FormError(props: { message?: string }) {
  return props.message ? (
    <section class="error" role="alert">
      {props.message}
    </section>
  ) : null;
}

/** A button copying the text of the element `target` (hidden until the page's script shows it). */
export function CopyButton(props: { target: string }) {
  return (
    <button type="button" class="plain copy" data-copy={props.target} hidden>
      Copy
    </button>
  );
}

/**
 * Usage per UTC day as stacked bars, one part per outcome (core/usage/usage-chart), drawn by the server:
 * hover titles per day, the numbers in the legend and, folded, a table of every day.
 */
export function UsageChart(props: { days: UsageDay[]; id?: string }) {
  const g = chartGeometry(props.days);
  const shown = SERIES.filter((s) => s === 'allowed' || g.totals[s] > 0);
  return (
    <figure id={props.id ?? 'usage-chart'} class="chart">
      <div class="chart-body">
        <div class="y-labels" aria-hidden="true">
          {[...g.ticks].reverse().map((t) => (
            <span>{compact.format(t.value)}</span>
          ))}
        </div>
        <svg
          viewBox={`0 0 ${g.width} ${g.height}`}
          preserveAspectRatio="none"
          role="img"
          aria-label={`Requests per day by outcome, ${props.days.length} days from ${g.labels[0] ?? '-'}`}
        >
          {g.ticks.map((t) => (
            <line
              x1="0"
              x2={g.width}
              y1={t.y}
              y2={t.y}
              stroke="#8c959f"
              stroke-opacity="0.35"
              vector-effect="non-scaling-stroke"
            />
          ))}
          {g.bars.map((bar) => (
            <g class="day" data-date={bar.date}>
              <title>{bar.title}</title>
              <rect x={bar.x} y="0" width={bar.width} height={g.height} fill="transparent" />
              {bar.parts.map((p) => (
                <rect
                  class={`bar bar-${p.series}`}
                  data-series={p.series}
                  data-value={p.value}
                  x={bar.x}
                  y={p.y}
                  width={bar.width}
                  height={p.height}
                  fill={SERIES_COLORS[p.series]}
                />
              ))}
            </g>
          ))}
        </svg>
      </div>
      <div class="x-labels" aria-hidden="true">
        {g.labels.map((l) => (
          <span>{l}</span>
        ))}
      </div>
      {props.days.every((d) => d.requests === 0) ? <p class="muted">No traffic in these days yet.</p> : null}
      <figcaption class="legend">
        {shown.map((s) => (
          <span>
            <span class={`swatch s-${s}`} />
            {SERIES_LABELS[s]}: <strong data-total={s}>{plain.format(g.totals[s])}</strong>
          </span>
        ))}
      </figcaption>
      <details>
        <summary>Every day</summary>
        <div class="table">
          <table>
            <thead>
              <tr>
                <th>Date</th>
                <th class="num">Requests</th>
                {shown.map((s) => (
                  <th class="num">{SERIES_LABELS[s]}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {[...props.days].reverse().map((d) => (
                <tr>
                  <td class="when">{d.date}</td>
                  <td class="num">{plain.format(d.requests)}</td>
                  {shown.map((s) => (
                    <td class="num">{plain.format(d[s])}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}

/** A tiny line of daily requests for a list row. */
export function Sparkline(props: { values: number[]; label: string }) {
  const width = 100;
  const height = 24;
  const max = Math.max(1, ...props.values);
  const step = props.values.length > 1 ? width / (props.values.length - 1) : 0;
  const points = props.values
    .map(
      (v, i) =>
        `${Math.round(i * step * 10) / 10},${Math.round((height - 2 - (v / max) * (height - 4)) * 10) / 10}`,
    )
    .join(' ');
  return (
    <svg
      class="spark"
      viewBox={`0 0 ${width} ${height}`}
      preserveAspectRatio="none"
      role="img"
      aria-label={props.label}
    >
      <polyline
        points={points}
        fill="none"
        stroke="#2457c5"
        stroke-width="1.5"
        vector-effect="non-scaling-stroke"
      />
    </svg>
  );
}
