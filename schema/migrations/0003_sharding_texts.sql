-- ckptcat catalog, schema version 3: each sharding's serialized string, stored once.
--
-- leaf_metadata used to rebuild a leaf's _sharding string from the normalized
-- tables in a correlated subquery per row: a 4,096-device mesh was
-- re-concatenated for every leaf, O(leaves x devices) in every scan. The
-- writer now stores the string once per sharding (the same bytes the
-- sharding_strings view rebuilds: a string is only interned when it
-- round-trips) and the views join to it.
CREATE TABLE sharding_texts (
  sharding_id INTEGER PRIMARY KEY REFERENCES shardings(id),
  serialized  TEXT NOT NULL              -- byte-identical to the _sharding entry
);

-- Catalogs written before version 3: the strings of the shardings leaves use,
-- rebuilt once each by the sharding_strings view (this migration runs before
-- the views are re-created, and both versions of that view rebuild them).
INSERT INTO sharding_texts(sharding_id, serialized)
SELECT ss.sharding_id, ss.serialized FROM sharding_strings ss
WHERE ss.serialized IS NOT NULL
  AND ss.sharding_id IN (SELECT sharding_id FROM leaf_specs WHERE sharding_id IS NOT NULL);
