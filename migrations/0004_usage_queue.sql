CREATE TABLE "usage_batches" (
	"id" text PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "usage_key_daily" (
	"tenant_id" text NOT NULL,
	"key_id" text NOT NULL,
	"date" date NOT NULL,
	"requests" bigint DEFAULT 0 NOT NULL,
	"allowed" bigint DEFAULT 0 NOT NULL,
	"rate_limited" bigint DEFAULT 0 NOT NULL,
	"quota_exceeded" bigint DEFAULT 0 NOT NULL,
	"unauthorized" bigint DEFAULT 0 NOT NULL,
	"status_2xx" bigint DEFAULT 0 NOT NULL,
	"status_3xx" bigint DEFAULT 0 NOT NULL,
	"status_4xx" bigint DEFAULT 0 NOT NULL,
	"status_5xx" bigint DEFAULT 0 NOT NULL,
	"bytes_in" bigint DEFAULT 0 NOT NULL,
	"bytes_out" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "usage_key_daily_tenant_id_key_id_date_pk" PRIMARY KEY("tenant_id","key_id","date")
);
--> statement-breakpoint
ALTER TABLE "usage_key_daily" ADD CONSTRAINT "usage_key_daily_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "usage_batches_created_at_index" ON "usage_batches" USING btree ("created_at");