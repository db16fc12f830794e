ALTER TABLE "domains" ADD COLUMN "service" text;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "services" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "max_tenants" integer;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "draining" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "instances" ADD CONSTRAINT "instances_max_tenants_check" CHECK ("instances"."max_tenants" >= 0);