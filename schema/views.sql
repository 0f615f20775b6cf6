-- ckptcat catalog views: the stable interface for plain sqlite3 users.
--
-- Views are dropped and re-created by every migration, so their names and
-- columns stay the same across schema versions (new columns are only ever
-- appended). They need no extension: the stock sqlite3 shell (3.40) works.
--
--   sharding_strings   sharding_id, serialized: every stored sharding rebuilt
--                      from the normalized tables as the exact string Orbax
--                      writes in _sharding (Python json.dumps, ensure_ascii).
--   leaf_metadata      one row per leaf: checkpoint_dir, step, item, item_dir,
--                      name, value_type, kind, dtype, shape, chunk_shape,
--                      write_shape (JSON lists as text, or NULL), stored_bytes,
--                      sharding (the _sharding string, byte-identical to the
--                      file: the one stored per sharding in sharding_texts,
--                      or the raw string kept when it does not round-trip;
--                      joined, never rebuilt per row), then checkpoint_id,
--                      item_id, ord,
--                      sharding_id, error.
--   checkpoint_summary one row per checkpoint: checkpoint_dir, root, step,
--                      step_name, finished, init/commit timestamps, mtime,
--                      item_count, leaf_count, stored_bytes, error_count.
--   mesh_usage         one row per mesh: mesh_id, shape, axis_names (JSON
--                      lists), device_count, arrays (leaves using it),
--                      checkpoints (how many checkpoints use it).
--   import_errors      every recorded problem: checkpoint_dir, scope
--                      ('checkpoint', 'item', 'leaf'), item, leaf, severity,
--                      file, message.
--
-- Lists are built with group_concat over ordered subqueries (3.40 has no
-- ORDER BY inside aggregates). The nested device mesh is rebuilt from the
-- row-major device list: before device p come as many "[" as there are axes
-- whose span (product of the sizes of that axis and the later ones) divides
-- p, and after it as many "]" as there are axes whose span divides p + 1.

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
    || coalesce((SELECT group_concat(name_json, ', ') FROM
                  (SELECT name_json FROM mesh_axes WHERE mesh_id = m.id ORDER BY axis)), '')
    || ']'
    || CASE WHEN m.has_axis_types THEN
         ', "axis_types": ['
         || coalesce((SELECT group_concat(axis_type_json, ', ') FROM
                       (SELECT axis_type_json FROM mesh_axes WHERE mesh_id = m.id ORDER BY axis)), '')
         || ']'
       ELSE '' END
    || ', "partition_spec": ['
    || coalesce((SELECT group_concat(token, ', ') FROM
         (SELECT CASE e.kind
                 WHEN 0 THEN 'null'
                 WHEN 1 THEN (SELECT name_json FROM partition_spec_axes a
                              WHERE a.spec_id = e.spec_id AND a.pos = e.pos)
                 ELSE '[' || coalesce((SELECT group_concat(name_json, ', ') FROM
                                        (SELECT name_json FROM partition_spec_axes a
                                         WHERE a.spec_id = e.spec_id AND a.pos = e.pos
                                         ORDER BY sub)), '') || ']'
                 END AS token
          FROM partition_spec_entries e WHERE e.spec_id = s.partition_spec_id ORDER BY e.pos)), '')
    || ']'
    || CASE WHEN m.has_devices THEN
         ', "device_mesh": {"mesh": '
         || (SELECT group_concat(token, ', ') FROM
              (SELECT CASE WHEN opens > 0 THEN printf('%.*c', opens, '[') ELSE '' END
                      || '{"id": ' || device_id || '}'
                      || CASE WHEN closes > 0 THEN printf('%.*c', closes, ']') ELSE '' END AS token
               FROM (SELECT d.pos, d.device_id,
                            (SELECT count(*) FROM mesh_axes a
                             WHERE a.mesh_id = d.mesh_id AND d.pos % a.span = 0) AS opens,
                            (SELECT count(*) FROM mesh_axes a
                             WHERE a.mesh_id = d.mesh_id AND (d.pos + 1) % a.span = 0) AS closes
                     FROM mesh_devices d WHERE d.mesh_id = m.id)
               ORDER BY pos))
         || '}'
       ELSE '' END
    || '}'
  END AS serialized
FROM shardings s
LEFT JOIN meshes m ON m.id = s.mesh_id
LEFT JOIN shapes ms ON ms.id = m.shape_id
LEFT JOIN shapes ps ON ps.id = s.shape_id;

DROP VIEW IF EXISTS leaf_metadata;
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

DROP VIEW IF EXISTS import_errors;
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

DROP VIEW IF EXISTS checkpoint_summary;
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

DROP VIEW IF EXISTS mesh_usage;
CREATE VIEW mesh_usage AS
SELECT m.id AS mesh_id,
       sh.json AS shape,
       '[' || coalesce((SELECT group_concat(name_json, ', ') FROM
                         (SELECT name_json FROM mesh_axes WHERE mesh_id = m.id ORDER BY axis)), '')
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
