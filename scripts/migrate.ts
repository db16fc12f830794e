// Applies migrations/ to DATABASE_URL (a Neon URL or any Postgres). Idempotent: drizzle records what ran.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';

const migrationsFolder = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'migrations');

export async function runMigrations(url: string): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  pool.on('error', () => {});
  try {
    await migrate(drizzle({ client: pool }), { migrationsFolder });
  } finally {
    await pool.end();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error(
      'DATABASE_URL is not set. Example: DATABASE_URL=postgres://user:pass@host/db npm run db:migrate',
    );
    process.exit(1);
  }
  runMigrations(url).then(
    () => console.log('migrations applied'),
    (err: Error) => {
      console.error(`migration failed: ${err.message}`);
      process.exit(1);
    },
  );
}
