-- Every committed change of a tenant's version gets a row in `changes` (DESIGN.md, Architecture principle 2),
-- whichever code path made it (the tenancy writes, config apply, a hand-made SQL fix).
-- The trigger is deferred to commit and takes one transaction-level advisory lock first, so rows get their
-- `seq` in commit order: a reader that sees seq n has seen every committed seq below it, and the ChangeFeed
-- can read "everything past my last seq" without missing a transaction that was still committing.
-- The lock is the last one a write takes (at commit), so it cannot close a deadlock with row locks.
CREATE FUNCTION gateway_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(7420016);
  IF TG_OP = 'DELETE' THEN
    -- A deleted tenant is named one version past its last, so every snapshot of it is older.
    INSERT INTO changes (tenant_id, version, at) VALUES (OLD.id, OLD.version + 1, clock_timestamp());
  ELSE
    INSERT INTO changes (tenant_id, version, at) VALUES (NEW.id, NEW.version, clock_timestamp());
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER tenants_insert_change AFTER INSERT ON tenants
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gateway_record_change();
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER tenants_version_change AFTER UPDATE ON tenants
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version)
  EXECUTE FUNCTION gateway_record_change();
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER tenants_delete_change AFTER DELETE ON tenants
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gateway_record_change();
