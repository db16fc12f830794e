import type { Child } from 'hono/jsx';
import { PageShell } from './kit';

/** A page of the tenant's own host: the tenant's name in the header. */
export function Layout(props: {
  title: string;
  nonce: string;
  tenantName: string;
  nav?: Child;
  narrow?: boolean;
  children: Child;
}) {
  return (
    <PageShell
      title={`${props.title} · ${props.tenantName}`}
      nonce={props.nonce}
      brand={props.tenantName}
      nav={props.nav}
      narrow={props.narrow}
    >
      {props.children}
    </PageShell>
  );
}
