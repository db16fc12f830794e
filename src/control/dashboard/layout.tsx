import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import { PageShell } from '../../edge';
import type { DashboardEnv } from './session';

const SECTIONS = [
  ['/dashboard', 'Tenants'],
  ['/dashboard/instances', 'Instances'],
  ['/dashboard/events', 'Events'],
  ['/dashboard/audit', 'Audit log'],
  ['/docs', 'API reference'],
] as const;

/** A dashboard page: its sections and the signed-in operator key in the header. */
export function DashboardLayout(props: {
  c: Context<DashboardEnv>;
  title: string;
  narrow?: boolean;
  children: Child;
}) {
  const session = props.c.get('dashboard');
  const nav = session ? (
    <nav>
      {SECTIONS.map(([href, label]) => (
        <a href={href}>{label}</a>
      ))}
      <span class="muted">
        {session.operator.name}
        {session.operator.canWrite ? '' : ' (read only)'}
      </span>
      <form class="inline" method="post" action="/dashboard/sign-out">
        <input type="hidden" name="_csrf" value={session.csrf} />
        <button type="submit" class="plain">
          Sign out
        </button>
      </form>
    </nav>
  ) : (
    // Signed out (the sign-in page): the API reference is public.
    <nav>
      <a href="/docs">API reference</a>
    </nav>
  );
  return (
    <PageShell
      title={`${props.title} · Gateway dashboard`}
      nonce={props.c.get('secureHeadersNonce') ?? ''}
      brand="Gateway dashboard"
      nav={nav}
      narrow={props.narrow}
    >
      {props.children}
    </PageShell>
  );
}

export function Hidden(props: { csrf: string }) {
  return <input type="hidden" name="_csrf" value={props.csrf} />;
}

export const fmt = (date: Date | null) => (date ? date.toISOString().slice(0, 16).replace('T', ' ') : '—');
