ALTER TABLE "usage_daily" ADD COLUMN "backend_4xx" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_daily" ADD COLUMN "backend_5xx" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_key_daily" ADD COLUMN "backend_4xx" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_key_daily" ADD COLUMN "backend_5xx" bigint DEFAULT 0 NOT NULL;