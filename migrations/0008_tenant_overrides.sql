ALTER TABLE "tenants" ADD COLUMN "upstream" jsonb;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "inject_headers" jsonb DEFAULT '{}'::jsonb NOT NULL;