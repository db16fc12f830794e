// Editing a key from the console: name, scopes, its own rate limit and expiry, through tenancy's key update
// (version bump, audit row with the admin as actor, tenantChanged), so the data plane applies it at once.
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { now as clockNow } from '../../core/time/clock';
import { ApiError } from '../../errors';
import { updateTenantKey } from '../../tenancy/key-update';
import { writerOf } from '../../tenancy/writer';
import { tenantChanged } from '../tenant-changed';
import { checkCsrf } from './csrf';
import { type PageEnv, tenantOf } from './env';
import { fmt } from './key-list';
import { asList, KeyName, type KeyRow, keyOf, ScopeFields, ScopesField } from './keys';
import { Layout } from './layout';
import { ConsoleNav } from './nav';
import { loadSession, requireSession } from './session';

const DAY_MS = 86_400_000;
const EXPIRY = ['keep', 'never', '7', '30', '90', '365'] as const;

/** An empty box is no limit of the key's own (the tenant's applies). */
const LimitField = z
  .string()
  .trim()
  .transform((v) => (v === '' ? null : Number(v)))
  .pipe(z.number().int('a whole number').min(1, 'at least 1').max(1_000_000_000).nullable());

const EditKeyBody = z.object({
  name: KeyName,
  scopes: ScopesField,
  requests_per_minute: LimitField,
  requests_per_day: LimitField,
  expiry: z.enum(EXPIRY),
});

function EditPage(props: { c: Context<PageEnv>; apiKey: KeyRow; error?: string }) {
  const { c, apiKey } = props;
  const session = c.get('session')!;
  const limit = apiKey.rateLimit;
  return (
    <Layout
      title={`Edit ${apiKey.name}`}
      nonce={c.get('secureHeadersNonce') ?? ''}
      tenantName={tenantOf(c).name}
      nav={<ConsoleNav c={c} />}
    >
      <h1>Edit key {apiKey.name}</h1>
      <section id="edit-key">
        <p class="muted">
          <code>{apiKey.prefix}…</code> · created {fmt(apiKey.createdAt)} · last used {fmt(apiKey.lastUsedAt)}
        </p>
        {props.error ? (
          <p class="error" role="alert">
            {props.error}
          </p>
        ) : null}
        <form method="post" action={`/_gateway/console/keys/${apiKey.id}`}>
          <input type="hidden" name="_csrf" value={session.csrf} />
          <label for="key-name">Name</label>
          <input id="key-name" name="name" type="text" required maxlength={200} value={apiKey.name} />
          <ScopeFields chosen={apiKey.scopes} />
          <fieldset>
            <legend>Own rate limit (empty: the tenant's)</legend>
            <div class="row">
              <div>
                <label for="key-rpm">Per minute</label>
                <input
                  id="key-rpm"
                  name="requests_per_minute"
                  type="number"
                  min="1"
                  value={limit?.requests_per_minute?.toString() ?? ''}
                />
              </div>
              <div>
                <label for="key-rpd">Per day (UTC)</label>
                <input
                  id="key-rpd"
                  name="requests_per_day"
                  type="number"
                  min="1"
                  value={limit?.requests_per_day?.toString() ?? ''}
                />
              </div>
            </div>
          </fieldset>
          <label for="key-expiry">Expires</label>
          <select id="key-expiry" name="expiry">
            <option value="keep" selected>
              {apiKey.expiresAt ? `keep: ${fmt(apiKey.expiresAt)}` : 'keep: never'}
            </option>
            <option value="never">never</option>
            {EXPIRY.slice(2).map((days) => (
              <option value={days}>in {days} days</option>
            ))}
          </select>
          <div class="actions">
            <button type="submit">Save</button> <a href="/_gateway/console#keys">Cancel</a>
          </div>
        </form>
      </section>
    </Layout>
  );
}

function expiryOf(choice: (typeof EXPIRY)[number], before: KeyRow): Date | null {
  if (choice === 'keep') return before.expiresAt;
  if (choice === 'never') return null;
  return new Date(clockNow() + Number(choice) * DAY_MS);
}

export function registerKeyEdit(app: Hono<PageEnv>) {
  app.get('/_gateway/console/keys/:id', loadSession, requireSession, async (c) => {
    const apiKey = await keyOf(c, c.req.param('id'));
    return c.html(<EditPage c={c} apiKey={apiKey} />);
  });

  app.post('/_gateway/console/keys/:id', loadSession, requireSession, checkCsrf, async (c) => {
    const before = await keyOf(c, c.req.param('id'));
    const fields = await c.req.parseBody({ all: true });
    const parsed = EditKeyBody.safeParse({ ...fields, scopes: asList(fields.scopes) });
    if (!parsed.success) {
      const message = parsed.error.issues
        .map((i) => `${i.path.join('.') || 'form'}: ${i.message}`)
        .join('; ');
      return c.html(<EditPage c={c} apiKey={before} error={message} />, 422);
    }
    const body = parsed.data;
    const limited = body.requests_per_minute !== null || body.requests_per_day !== null;
    try {
      await updateTenantKey(await writerOf(c, tenantChanged), tenantOf(c).id, before, {
        name: body.name,
        scopes: body.scopes,
        rateLimit: limited
          ? { requests_per_minute: body.requests_per_minute, requests_per_day: body.requests_per_day }
          : null,
        expiresAt: expiryOf(body.expiry, before),
      });
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== 'validation_failed') throw err;
      const message = err.details?.map((d) => `${d.path}: ${d.message}`).join('; ') ?? err.message;
      return c.html(<EditPage c={c} apiKey={before} error={message} />, 422);
    }
    return c.redirect('/_gateway/console#keys', 303);
  });
}
