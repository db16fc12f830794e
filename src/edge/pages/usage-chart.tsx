import { chartGeometry, SERIES, type SeriesName, type UsageDay } from '../../core/usage/usage-chart';

const COLORS: Record<SeriesName, string> = {
  requests: '#8c959f',
  allowed: '#2da44e',
  rate_limited: '#cf222e',
};
const LABELS: Record<SeriesName, string> = {
  requests: 'Requests',
  allowed: 'Allowed',
  rate_limited: 'Rate-limited',
};
const compact = new Intl.NumberFormat('en', { notation: 'compact' });

/** The last days of usage as inline SVG: drawn by the server, no script, hover titles per day. */
export function UsageChart(props: { days: UsageDay[] }) {
  const g = chartGeometry(props.days);
  const totals = Object.fromEntries(
    SERIES.map((name) => [name, props.days.reduce((sum, d) => sum + d[name], 0)]),
  ) as Record<SeriesName, number>;
  return (
    <figure id="usage-chart">
      <svg
        viewBox={`0 0 ${g.width} ${g.height}`}
        role="img"
        aria-label={`Requests, allowed and rate-limited per day, last ${props.days.length} days`}
      >
        {g.yTicks.map((t) => (
          <g>
            <line
              x1={g.plot.left}
              x2={g.plot.right}
              y1={t.y}
              y2={t.y}
              stroke="#8c959f"
              stroke-opacity="0.3"
            />
            <text x={g.plot.left - 6} y={t.y + 4} text-anchor="end" font-size="11" fill="#8c959f">
              {compact.format(t.value)}
            </text>
          </g>
        ))}
        {g.xLabels.map((l, i) => (
          <text
            x={l.x}
            y={g.height - 8}
            text-anchor={i === 0 ? 'start' : i === g.xLabels.length - 1 ? 'end' : 'middle'}
            font-size="11"
            fill="#8c959f"
          >
            {l.date}
          </text>
        ))}
        {SERIES.map((name) => (
          <polyline
            class={`series-${name}`}
            points={g.lines[name]}
            fill="none"
            stroke={COLORS[name]}
            stroke-width="2"
            stroke-linejoin="round"
          />
        ))}
        {g.points.map((p) => (
          <circle cx={p.x} cy={p.y.requests} r="3" fill={COLORS.requests}>
            <title>{`${p.date}: ${p.requests} requests, ${p.allowed} allowed, ${p.rate_limited} rate-limited`}</title>
          </circle>
        ))}
      </svg>
      <figcaption class="legend">
        {SERIES.map((name) => (
          <span>
            <span class={`swatch s-${name}`} />
            {LABELS[name]}: <strong data-total={name}>{totals[name]}</strong>
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
