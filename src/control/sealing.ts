// Sealing-key rotation (SEALING_KEY lists keys, newest first): one call re-seals every stored secret with the
// newest key, through tenancy/reseal.
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../env';
import { resealSecrets } from '../tenancy/reseal';
import { authenticate, operatorOnly } from './auth';
import { errorResponses, json, security } from './openapi';
import { writer } from './writer';

const ResealSchema = z
  .object({
    resealed: z.array(z.string()).openapi({ description: 'Instances now sealed with the newest key' }),
    current: z.array(z.string()).openapi({ description: 'Instances that already were' }),
    unreadable: z.array(z.string()).openapi({
      description: 'Instances no listed key opens (left as they are; rotate their secret to recover)',
    }),
    tenants: z
      .object({
        resealed: z.array(z.string()).openapi({ description: 'Tenants whose injected headers now are' }),
        current: z.array(z.string()).openapi({ description: 'Tenants whose injected headers already were' }),
        unreadable: z.array(z.string()).openapi({
          description: 'Tenants with an injected header no listed key opens (set it again to recover)',
        }),
      })
      .openapi({ description: 'Tenants with injected headers, by slug' }),
  })
  .openapi('ResealReport');

const resealRoute = createRoute({
  method: 'post',
  path: '/v1/sealing-key/reseal',
  operationId: 'resealSecrets',
  tags: ['instances'],
  summary: 'Re-seal every stored secret with the newest SEALING_KEY',
  description:
    'SEALING_KEY may list several keys, comma-separated, newest first: values are sealed with the first and ' +
    'opened with any. To rotate: put the new key in front and deploy, call this once, then drop the old key. ' +
    'Tenants’ injected header values are re-sealed too. Every tenant placed on a re-sealed instance, and ' +
    'every tenant whose headers were re-sealed, gets a new version. Operators with `admin` only.',
  security,
  middleware: [authenticate, operatorOnly],
  responses: { 200: json(ResealSchema, 'What was re-sealed'), ...errorResponses(403) },
});

export function registerSealing(app: OpenAPIHono<AppEnv>) {
  app.openapi(resealRoute, async (c) => {
    // Without a key nothing opens: every instance is reported unreadable and nothing is written.
    return c.json(await resealSecrets(await writer(c), c.env.SEALING_KEY ?? ''), 200);
  });
}
