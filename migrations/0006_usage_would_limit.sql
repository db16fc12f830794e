ALTER TABLE "usage_daily" ADD COLUMN "would_limit" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_key_daily" ADD COLUMN "would_limit" bigint DEFAULT 0 NOT NULL;