// Capacity placement (DESIGN.md "Instances", Capacity): whether an instance takes one more tenant, and which
// instance a tenant created without one goes to.

export type InstanceCapacity = {
  name: string;
  /** Tenants placed on it now (home or not). */
  tenantCount: number;
  /** Null: no limit. */
  maxTenants: number | null;
  draining: boolean;
};

/** Why the instance takes no new tenant, or null when it takes one. */
export function refusedPlacement(i: InstanceCapacity): string | null {
  if (i.draining) return `instance ${i.name} is draining: it takes no new tenants`;
  if (i.maxTenants !== null && i.tenantCount >= i.maxTenants) {
    return `instance ${i.name} is full: ${i.tenantCount} of ${i.maxTenants} tenants`;
  }
  return null;
}

/**
 * The share of its capacity still free, 0..1. An instance without a limit is always wholly free (1): it is
 * chosen before any limited one that has tenants, and ties with an empty one (then by name).
 */
export function freeShare(i: InstanceCapacity): number {
  if (i.maxTenants === null) return 1;
  if (i.maxTenants === 0) return 0;
  return Math.max(0, i.maxTenants - i.tenantCount) / i.maxTenants;
}

/**
 * The instance a tenant placed automatically goes to: of those that take one more, the largest free share,
 * ties by name; null when none does (`409 instance_full`).
 */
export function chooseInstance(candidates: readonly InstanceCapacity[]): string | null {
  let best: InstanceCapacity | null = null;
  let bestShare = -1;
  for (const i of candidates) {
    if (refusedPlacement(i) !== null) continue;
    const share = freeShare(i);
    if (share > bestShare || (share === bestShare && best !== null && i.name < best.name)) {
      best = i;
      bestShare = share;
    }
  }
  return best?.name ?? null;
}
