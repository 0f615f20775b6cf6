-- ckptcat PostgreSQL catalog, schema version 2: follows schema/migrations/
-- 0002_shard_views.sql, which changes no table (it gives SQLite catalogs the
-- shard views). The shared catalog keeps the five views of views.sql; the
-- version still moves with the SQLite side's, as one number names both.
SELECT 1;
