// Key management from the console: the writes the control API uses (tenancy/keys: the version bump, the audit
// row, tenantChanged after commit), so a change here takes effect on the data plane exactly as one made there.

import { and, eq } from 'drizzle-orm';
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { isValidScope } from '../../core/tenancy/scopes';
import { now as clockNow } from '../../core/time/clock';
import { apiKeys } from '../../db/schema';
import { ApiError } from '../../errors';
import { useDatabase } from '../../request-database';
import { createKey, revokeTenantKey, rotateTenantKey } from '../../tenancy/keys';
import { writerOf } from '../../tenancy/writer';
import { tenantChanged } from '../tenant-changed';
import { checkCsrf } from './csrf';
import { type PageEnv, tenantOf } from './env';
import { CopyButton } from './kit';
import { Layout } from './layout';
import { ConsoleNav } from './nav';
import { loadSession, requireSession } from './session';

export type KeyRow = typeof apiKeys.$inferSelect;

const COMMON_SCOPES = ['proxy:read', 'proxy:write', 'tenant:admin'] as const;
const EXPIRY_DAYS = ['', '7', '30', '90', '365'] as const;
const DAY_MS = 86_400_000;

export const asList = (value: unknown) => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

export const KeyName = z.string().trim().min(1, 'give the key a name').max(200);

/** Ticked boxes plus the free-text field (space or comma separated), merged. */
export const ScopesField = z
  .array(z.string())
  .transform((list) => [...new Set(list.flatMap((s) => s.split(/[\s,]+/)).filter(Boolean))])
  .pipe(
    z.array(z.string().refine(isValidScope, 'not a valid scope')).min(1, 'choose at least one scope').max(50),
  );

const NewKeyBody = z.object({
  name: KeyName,
  scopes: ScopesField,
  expires_in_days: z.enum(EXPIRY_DAYS),
});

/** The scope boxes and the free-text field for any other, `chosen` ticked or written out. */
export function ScopeFields(props: { chosen: string[] }) {
  const others = props.chosen.filter((s) => !(COMMON_SCOPES as readonly string[]).includes(s));
  return (
    <fieldset>
      <legend>Scopes</legend>
      {COMMON_SCOPES.map((scope) => (
        <label>
          <input type="checkbox" name="scopes" value={scope} checked={props.chosen.includes(scope)} />
          <code>{scope}</code>
        </label>
      ))}
      <label for="key-more-scopes" class="muted">
        Other scopes (space separated)
      </label>
      <input
        id="key-more-scopes"
        name="scopes"
        type="text"
        value={others.join(' ')}
        placeholder="e.g. send reports:read"
      />
    </fieldset>
  );
}

export function NewKeyForm(props: { csrf: string; error?: string }) {
  return (
    <form method="post" action="/_gateway/console/keys">
      <input type="hidden" name="_csrf" value={props.csrf} />
      {props.error ? (
        <p class="error" role="alert">
          {props.error}
        </p>
      ) : null}
      <label for="key-name">Name</label>
      <input
        id="key-name"
        name="name"
        type="text"
        required
        maxlength={200}
        placeholder="e.g. billing service"
      />
      <ScopeFields chosen={['proxy:read']} />
      <label for="key-expiry">Expires</label>
      <select id="key-expiry" name="expires_in_days">
        {EXPIRY_DAYS.map((days) => (
          <option value={days}>{days ? `in ${days} days` : 'never'}</option>
        ))}
      </select>
      <div class="actions">
        <button type="submit">Create key</button>
      </div>
    </form>
  );
}

function SecretPage(props: { c: Context<PageEnv>; title: string; apiKey: KeyRow; secret: string }) {
  const tenant = tenantOf(props.c);
  return (
    <Layout
      title={props.title}
      nonce={props.c.get('secureHeadersNonce') ?? ''}
      tenantName={tenant.name}
      nav={<ConsoleNav c={props.c} />}
    >
      <h1>{props.title}</h1>
      <section class="notice">
        <p>
          The secret of <strong>{props.apiKey.name}</strong> (<code>{props.apiKey.scopes.join(' ')}</code>).
          Copy it now: <strong>it is not shown again</strong>.
        </p>
        <code class="secret" id="secret">
          {props.secret}
        </code>
        <CopyButton target="secret" />
        <p class="muted">
          Send it as <code>Authorization: Bearer …</code> or <code>X-API-Key</code>.
        </p>
      </section>
      <p>
        <a href="/_gateway/console#keys">Back to the keys</a>
      </p>
    </Layout>
  );
}

export async function keyOf(c: Context<PageEnv>, id: string): Promise<KeyRow> {
  const db = await useDatabase(c);
  const [key] = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.id, id), eq(apiKeys.tenantId, tenantOf(c).id)));
  if (!key) throw new ApiError('not_found', 'No such key');
  return key;
}

export function registerKeys(app: Hono<PageEnv>) {
  const guard = [loadSession, requireSession, checkCsrf] as const;

  app.post('/_gateway/console/keys', ...guard, async (c) => {
    const fields = await c.req.parseBody({ all: true });
    const parsed = NewKeyBody.safeParse({ ...fields, scopes: asList(fields.scopes) });
    if (!parsed.success) {
      const message = parsed.error.issues.map((i) => i.message).join('; ');
      const session = c.get('session')!;
      return c.html(
        <Layout
          title="New key"
          nonce={c.get('secureHeadersNonce') ?? ''}
          tenantName={tenantOf(c).name}
          nav={<ConsoleNav c={c} />}
        >
          <h1>New key</h1>
          <section>
            <NewKeyForm csrf={session.csrf} error={message} />
          </section>
        </Layout>,
        422,
      );
    }
    const body = parsed.data;
    const tenantId = tenantOf(c).id;
    const expiresAt = body.expires_in_days
      ? new Date(clockNow() + Number(body.expires_in_days) * DAY_MS)
      : null;
    const w = await writerOf(c, tenantChanged);
    const created = await createKey(w, { tenantId, name: body.name, scopes: body.scopes, expiresAt });
    return c.html(<SecretPage c={c} title="Key created" apiKey={created.key} secret={created.secret} />, 201);
  });

  app.post('/_gateway/console/keys/:id/rotate', ...guard, async (c) => {
    const before = await keyOf(c, c.req.param('id'));
    const tenantId = tenantOf(c).id;
    const { after: rotated, secret } = await rotateTenantKey(
      await writerOf(c, tenantChanged),
      tenantId,
      before,
    );
    return c.html(<SecretPage c={c} title="Key rotated" apiKey={rotated} secret={secret} />);
  });

  app.post('/_gateway/console/keys/:id/revoke', ...guard, async (c) => {
    const before = await keyOf(c, c.req.param('id'));
    const tenantId = tenantOf(c).id;
    if (!before.revokedAt) await revokeTenantKey(await writerOf(c, tenantChanged), tenantId, before);
    return c.redirect('/_gateway/console#keys', 303);
  });
}
