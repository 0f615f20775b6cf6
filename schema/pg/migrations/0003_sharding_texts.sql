-- ckptcat PostgreSQL catalog, schema version 3: follows schema/migrations/
-- 0003_sharding_texts.sql. The SQLite side stores each serialized sharding
-- string once for its leaf_metadata view; the shared catalog's views rebuild
-- the same bytes from the normalized tables (schema/pg/views.sql), so no table
-- changes here; the version moves with the SQLite side's.
SELECT 1;
