/**
 * Who makes a control-plane change, as its audit row names it: `id` is `admin` for ADMIN_API_KEY, else the
 * key id (or, from the tenant console, the admin's id); `tenant` is set for a tenant's own admin.
 */
export type Actor = { id: string; scopes: string[]; tenant: { id: string; slug: string } | null };
