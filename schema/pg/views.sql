-- The five catalog views of schema/views.sql on PostgreSQL: same names, same
-- columns, and for the same checkpoints the same rows byte for byte (the
-- *_id columns excepted: ids belong to each database). tests/pg diffs every
-- view between the two engines; change both files together.
--
-- Translation rules from the SQLite text: group_concat over an ordered
-- subquery -> string_agg(... ORDER BY ...); printf('%.*c', n, '[') ->
-- repeat('[', n); 0/1 integer flags tested with <> 0. Re-created (dropped
-- first) by every migration, like the SQLite views.

DROP VIEW IF EXISTS checkpoint_summary;
DROP VIEW IF EXISTS import_errors;
DROP VIEW IF EXISTS leaf_metadata;
DROP VIEW IF EXISTS mesh_usage;
DROP VIEW IF EXISTS sharding_strings;

CREATE VIEW sharding_strings AS
SELECT s.id AS sharding_id,
  CASE s.kind
  WHEN 'single_device' THEN
    '{"sharding_type": "SingleDeviceSharding", "device_str": ' || s.device_str_json || '}'
  WHEN 'positional' THEN
    '{"sharding_type": "PositionalSharding", "shape": ' || ps.json
    || coalesce(', "memory_kind": ' || s.memory_kind_json, '') || '}'
  ELSE
    '{"sharding_type": "NamedSharding", "shape": ' || ms.json
    || ', "axis_names": ['
    || coalesce((SELECT string_agg(name_json, ', ' ORDER BY axis)
                 FROM mesh_axes WHERE mesh_id = m.id), '')
    || ']'
    || CASE WHEN m.has_axis_types <> 0 THEN
         ', "axis_types": ['
         || coalesce((SELECT string_agg(axis_type_json, ', ' ORDER BY axis)
                      FROM mesh_axes WHERE mesh_id = m.id), '')
         || ']'
       ELSE '' END
    || ', "partition_spec": ['
    || coalesce((SELECT string_agg(
           CASE e.kind
           WHEN 0 THEN 'null'
           WHEN 1 THEN (SELECT name_json FROM partition_spec_axes a
                        WHERE a.spec_id = e.spec_id AND a.pos = e.pos)
           ELSE '[' || coalesce((SELECT string_agg(name_json, ', ' ORDER BY sub)
                                 FROM partition_spec_axes a
                                 WHERE a.spec_id = e.spec_id AND a.pos = e.pos), '') || ']'
           END, ', ' ORDER BY e.pos)
         FROM partition_spec_entries e WHERE e.spec_id = s.partition_spec_id), '')
    || ']'
    || CASE WHEN m.has_devices <> 0 THEN
         ', "device_mesh": {"mesh": '
         || (SELECT string_agg(repeat('[', opens::integer) || '{"id": ' || device_id || '}'
                               || repeat(']', closes::integer), ', ' ORDER BY pos)
             FROM (SELECT d.pos, d.device_id,
                          (SELECT count(*) FROM mesh_axes a
                           WHERE a.mesh_id = d.mesh_id AND d.pos % a.span = 0) AS opens,
                          (SELECT count(*) FROM mesh_axes a
                           WHERE a.mesh_id = d.mesh_id AND (d.pos + 1) % a.span = 0) AS closes
                   FROM mesh_devices d WHERE d.mesh_id = m.id) AS devices)
         || '}'
       ELSE '' END
    || '}'
  END AS serialized
FROM shardings s
LEFT JOIN meshes m ON m.id = s.mesh_id
LEFT JOIN shapes ms ON ms.id = m.shape_id
LEFT JOIN shapes ps ON ps.id = s.shape_id;

CREATE VIEW leaf_metadata AS
SELECT c.directory AS checkpoint_dir,
       c.step AS step,
       i.name AS item,
       i.directory AS item_dir,
       p.name AS name,
       vt.name AS value_type,
       sp.kind AS kind,
       dt.name AS dtype,
       sh.json AS shape,
       cs.json AS chunk_shape,
       ws.json AS write_shape,
       l.stored_bytes AS stored_bytes,
       coalesce(x.sharding_raw, t.serialized) AS sharding,
       c.id AS checkpoint_id,
       i.id AS item_id,
       l.ord AS ord,
       sp.sharding_id AS sharding_id,
       x.error AS error
FROM leaves l
JOIN items i ON i.id = l.item_id
JOIN checkpoints c ON c.id = i.checkpoint_id
JOIN key_paths p ON p.id = l.key_path_id
JOIN leaf_specs sp ON sp.id = l.spec_id
JOIN value_types vt ON vt.id = sp.value_type_id
LEFT JOIN dtypes dt ON dt.id = sp.dtype_id
LEFT JOIN shapes sh ON sh.id = sp.shape_id
LEFT JOIN storages st ON st.id = sp.storage_id
LEFT JOIN shapes cs ON cs.id = st.chunk_shape_id
LEFT JOIN shapes ws ON ws.id = st.write_shape_id
LEFT JOIN leaf_extras x ON x.item_id = l.item_id AND x.ord = l.ord
LEFT JOIN sharding_texts t ON t.sharding_id = sp.sharding_id;

CREATE VIEW import_errors AS
SELECT c.directory AS checkpoint_dir,
       CASE WHEN pr.item_id IS NULL THEN 'checkpoint' ELSE 'item' END AS scope,
       coalesce(i.name, '') AS item, '' AS leaf,
       pr.severity AS severity, pr.file AS file, pr.message AS message,
       c.id AS checkpoint_id
FROM problems pr
JOIN checkpoints c ON c.id = pr.checkpoint_id
LEFT JOIN items i ON i.id = pr.item_id
UNION ALL
SELECT c.directory, 'item', i.name, '', 'error', i.directory, i.error, c.id
FROM items i JOIN checkpoints c ON c.id = i.checkpoint_id
WHERE i.error IS NOT NULL
UNION ALL
SELECT c.directory, 'leaf', i.name, p.name, 'error', i.directory, x.error, c.id
FROM leaf_extras x
JOIN leaves l ON l.item_id = x.item_id AND l.ord = x.ord
JOIN key_paths p ON p.id = l.key_path_id
JOIN items i ON i.id = x.item_id
JOIN checkpoints c ON c.id = i.checkpoint_id
WHERE x.error IS NOT NULL;

CREATE VIEW checkpoint_summary AS
SELECT c.directory AS checkpoint_dir,
       r.path AS root,
       c.step AS step,
       c.step_name AS step_name,
       c.finished AS finished,
       c.init_timestamp_nsecs AS init_timestamp_nsecs,
       c.commit_timestamp_nsecs AS commit_timestamp_nsecs,
       c.mtime_nsecs AS mtime_nsecs,
       c.item_count AS item_count,
       c.leaf_count AS leaf_count,
       c.stored_bytes AS stored_bytes,
       (SELECT count(*) FROM import_errors e WHERE e.checkpoint_id = c.id) AS error_count,
       c.id AS checkpoint_id
FROM checkpoints c JOIN roots r ON r.id = c.root_id;

CREATE VIEW mesh_usage AS
SELECT m.id AS mesh_id,
       sh.json AS shape,
       '[' || coalesce((SELECT string_agg(name_json, ', ' ORDER BY axis)
                        FROM mesh_axes WHERE mesh_id = m.id), '')
           || ']' AS axis_names,
       m.device_count AS device_count,
       (SELECT count(*) FROM leaves l
        JOIN leaf_specs sp ON sp.id = l.spec_id
        JOIN shardings s ON s.id = coalesce(sp.sharding_id, sp.array_sharding_id)
        WHERE s.mesh_id = m.id) AS arrays,
       (SELECT count(DISTINCT i.checkpoint_id) FROM leaves l
        JOIN items i ON i.id = l.item_id
        JOIN leaf_specs sp ON sp.id = l.spec_id
        JOIN shardings s ON s.id = coalesce(sp.sharding_id, sp.array_sharding_id)
        WHERE s.mesh_id = m.id) AS checkpoints
FROM meshes m JOIN shapes sh ON sh.id = m.shape_id;
