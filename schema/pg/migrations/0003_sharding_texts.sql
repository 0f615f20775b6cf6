-- ckptcat PostgreSQL catalog, schema version 3: follows schema/migrations/
-- 0003_sharding_texts.sql. Each sharding's serialized string, stored once, so
-- leaf_metadata joins it instead of rebuilding it per row from the normalized
-- tables (O(leaves x devices) for 4,096-device meshes). Keyed by the
-- sharding's id, itself content-keyed: `ckptcat push` carries the local
-- catalog's rows, mapped like the shardings, and adds those the database lacks.
CREATE TABLE sharding_texts (
  sharding_id bigint PRIMARY KEY REFERENCES shardings(id),
  serialized  text NOT NULL              -- byte-identical to the _sharding entry
);

-- Catalogs written before version 3: the strings of the shardings leaves use,
-- rebuilt once each by their sharding_strings view. A new database has no
-- views yet (they are created after the last migration) and nothing to fill.
DO $$
BEGIN
  IF to_regclass('sharding_strings') IS NOT NULL THEN
    INSERT INTO sharding_texts(sharding_id, serialized)
    SELECT ss.sharding_id, ss.serialized FROM sharding_strings ss
    WHERE ss.serialized IS NOT NULL
      AND ss.sharding_id IN (SELECT sharding_id FROM leaf_specs WHERE sharding_id IS NOT NULL);
  END IF;
END
$$;
