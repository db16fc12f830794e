import type { Context } from 'hono';
import type { PageEnv } from './env';

/** The console's header: where the admin is and how to leave. */
export function ConsoleNav(props: { c: Context<PageEnv> }) {
  const session = props.c.get('session');
  if (!session) return null;
  return (
    <nav>
      <a href="/_gateway/console">Overview</a>
      <a href="/_gateway/console#usage">Usage</a>
      <a href="/_gateway/console#keys">Keys</a>
      <a href="/_gateway/console#domains">Domains</a>
      <a href="/_gateway/console/password">Password</a>
      <span class="muted">{session.admin.email}</span>
      <form class="inline" method="post" action="/_gateway/console/sign-out">
        <input type="hidden" name="_csrf" value={session.csrf} />
        <button type="submit" class="plain">
          Sign out
        </button>
      </form>
    </nav>
  );
}
