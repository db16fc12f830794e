// globalSetup of the browser project: a database of its own on the run's one Postgres (./shared-postgres),
// migrated, for the `npm run dev` that the browser test starts (../browser/dev-server.ts).
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { leaseTestPostgres } from './shared-postgres';

export default async function setup(project: TestProject) {
  const postgres = await leaseTestPostgres();
  try {
    project.provide(
      'browserDatabaseUrl',
      await postgres.create(`gateway_browser_${process.pid}_${randomBytes(3).toString('hex')}`),
    );
  } catch (error) {
    await postgres.release();
    throw error;
  }
  return () => postgres.release();
}
