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

-- ---- shards: what each device holds ------------------------------------------------
--
-- The same figures as the C++ ShardAnalysis (lib/include/ckptcat/shards.h),
-- with JAX's rules: a NamedSharding splits array dimension d into the product
-- of the sizes of the mesh axes partition-spec entry d names (None, [] and
-- missing trailing entries do not split); every device of the mesh holds one
-- shard, the devices along the axes the spec does not name holding copies. A
-- SingleDeviceSharding holds the whole array on one device; a (legacy)
-- PositionalSharding splits dimension d into shape[d] parts, one device each.
-- Bytes are packed (int4/uint4/float4 half a byte, int2/uint2 a quarter),
-- rounded up to a whole byte per shard.
--
--   dtype_sizes       dtype_id, name, bits: bits per element (NULL: unknown).
--   shape_elements    shape_id, rank, elements: product of the dims.
--   sharding_splits   sharding_id, dim, parts, unknown_axes: how many parts a
--                     sharding cuts array dimension `dim` into (no row: 1);
--                     unknown_axes counts named axes missing from the mesh.
--   sharding_devices  sharding_id, pos, device_id, id_known: the devices
--                     holding one shard each, in mesh order. device_id is the
--                     mesh's device id; meshes saved without device_mesh and
--                     positional shardings use the position (id_known 0); a
--                     single device's id is the number ending its name
--                     ("cpu:0", "TFRT_CPU_0", "TPU_3(...)"), else -1.
--   leaf_shards       one row per array leaf with a known shape and dtype size:
--                     checkpoint_dir, step, item, name, dtype, shape,
--                     sharding_kind, status ('even'; 'uneven': a dimension its
--                     split does not divide, which JAX refuses, figures are
--                     those of the largest shard; 'invalid': the sharding
--                     cannot apply, figures NULL; 'unsharded': no sharding,
--                     figures NULL), problem, shard_shape (JSON list, the
--                     largest shard), logical_bytes, shard_bytes (each
--                     device's share), distinct_shards, replication (devices
--                     per shard), device_count, then checkpoint_id, item_id,
--                     ord, sharding_id, mesh_id.
--
-- Bytes per device of a checkpoint, in plain SQL (sum per sharding first, so
-- a 4,096-device mesh is walked once, not once per leaf):
--   SELECT d.device_id, sum(t.bytes) AS bytes
--   FROM (SELECT sharding_id, sum(shard_bytes) AS bytes FROM leaf_shards
--         WHERE checkpoint_dir = '/runs/exp1/1000' GROUP BY sharding_id) t
--   JOIN sharding_devices d USING (sharding_id)
--   GROUP BY d.device_id ORDER BY bytes DESC;

DROP VIEW IF EXISTS dtype_sizes;
CREATE VIEW dtype_sizes AS
SELECT id AS dtype_id, name,
  CASE
  WHEN name IN ('bool', 'int8', 'uint8', 'float8_e4m3fn', 'float8_e4m3fnuz', 'float8_e4m3b11fnuz',
                'float8_e5m2', 'float8_e5m2fnuz', 'float8_e3m4', 'float8_e8m0fnu') THEN 8
  WHEN name IN ('int16', 'uint16', 'float16', 'bfloat16') THEN 16
  WHEN name IN ('int32', 'uint32', 'float32') THEN 32
  WHEN name IN ('int64', 'uint64', 'float64', 'complex64') THEN 64
  WHEN name = 'complex128' THEN 128
  WHEN name IN ('int4', 'uint4', 'float4_e2m1fn') THEN 4
  WHEN name IN ('int2', 'uint2') THEN 2
  -- raw |S<n> / |V<n> zarr types, named by their bits
  WHEN name GLOB 'bytes[0-9]*' AND substr(name, 6) NOT GLOB '*[^0-9]*'
       AND length(name) <= 23 AND CAST(substr(name, 6) AS INTEGER) > 0
    THEN CAST(substr(name, 6) AS INTEGER)
  WHEN name GLOB 'void[0-9]*' AND substr(name, 5) NOT GLOB '*[^0-9]*'
       AND length(name) <= 22 AND CAST(substr(name, 5) AS INTEGER) > 0
    THEN CAST(substr(name, 5) AS INTEGER)
  END AS bits
FROM dtypes;

DROP VIEW IF EXISTS shape_elements;
CREATE VIEW shape_elements AS
WITH RECURSIVE products(shape_id, dim, elements) AS (
  SELECT id, 0, 1 FROM shapes
  UNION ALL
  SELECT p.shape_id, p.dim + 1, p.elements * d.size
  FROM products p JOIN shape_dims d ON d.shape_id = p.shape_id AND d.dim = p.dim)
SELECT s.id AS shape_id, s.rank AS rank, p.elements AS elements
FROM shapes s JOIN products p ON p.shape_id = s.id AND p.dim = s.rank;

DROP VIEW IF EXISTS sharding_splits;
CREATE VIEW sharding_splits AS
WITH RECURSIVE
named_axes AS (
  SELECT s.id AS sharding_id, a.pos, a.sub, ma.size
  FROM shardings s
  JOIN partition_spec_axes a ON a.spec_id = s.partition_spec_id
  LEFT JOIN mesh_axes ma ON ma.mesh_id = s.mesh_id AND ma.name = a.name
  WHERE s.kind = 'named'),
products(sharding_id, pos, sub, parts, unknown_axes) AS (
  SELECT sharding_id, pos, 0, coalesce(size, 1), size IS NULL FROM named_axes WHERE sub = 0
  UNION ALL
  SELECT p.sharding_id, p.pos, a.sub, p.parts * coalesce(a.size, 1), p.unknown_axes + (a.size IS NULL)
  FROM products p
  JOIN named_axes a ON a.sharding_id = p.sharding_id AND a.pos = p.pos AND a.sub = p.sub + 1)
-- max(sub) picks the row holding the whole entry's product (SQLite's bare columns)
SELECT sharding_id, pos AS dim, parts, unknown_axes
FROM (SELECT sharding_id, pos, parts, unknown_axes, max(sub) FROM products GROUP BY sharding_id, pos)
UNION ALL
SELECT s.id, d.dim, d.size, 0
FROM shardings s JOIN shape_dims d ON d.shape_id = s.shape_id
WHERE s.kind = 'positional';

DROP VIEW IF EXISTS sharding_devices;
CREATE VIEW sharding_devices AS
WITH RECURSIVE positions(sharding_id, pos, n) AS (
  SELECT s.id, 0, e.elements
  FROM shardings s JOIN meshes m ON m.id = s.mesh_id JOIN shape_elements e ON e.shape_id = m.shape_id
  WHERE s.kind = 'named' AND NOT m.has_devices AND e.elements > 0
  UNION ALL
  SELECT s.id, 0, e.elements
  FROM shardings s JOIN shape_elements e ON e.shape_id = s.shape_id
  WHERE s.kind = 'positional' AND e.elements > 0
  UNION ALL
  SELECT sharding_id, pos + 1, n FROM positions WHERE pos + 1 < n)
SELECT s.id AS sharding_id, d.pos AS pos, d.device_id AS device_id, 1 AS id_known
FROM shardings s JOIN meshes m ON m.id = s.mesh_id JOIN mesh_devices d ON d.mesh_id = m.id
WHERE s.kind = 'named' AND m.has_devices
UNION ALL
SELECT sharding_id, pos, pos, 0 FROM positions
UNION ALL
SELECT id, 0,
  CASE WHEN digits <> '' AND length(digits) <= 18 AND substr(head, -1) IN (':', '_')
       THEN CAST(digits AS INTEGER) ELSE -1 END,
  1
FROM (SELECT id, rtrim(name, '0123456789') AS head,
             substr(name, length(rtrim(name, '0123456789')) + 1) AS digits
      FROM (SELECT id, substr(device_str, 1, instr(device_str || '(', '(') - 1) AS name
            FROM shardings WHERE kind = 'single_device'));

DROP VIEW IF EXISTS leaf_shards;
CREATE VIEW leaf_shards AS
WITH RECURSIVE
-- Everything below runs once per distinct leaf spec (what leaves repeat is
-- interned), not per leaf; MATERIALIZED keeps the recursion from
-- re-evaluating the helper views at every step.
splits AS MATERIALIZED (SELECT sharding_id, dim, parts, unknown_axes FROM sharding_splits),
arrays AS MATERIALIZED (  -- distinct array leaf specs with a known shape and dtype size
  SELECT sp.id AS spec_id, sp.shape_id, sp.array_sharding_id AS sharding_id, sh.rank, sh.json AS shape,
         dz.name AS dtype, dz.bits
  FROM leaf_specs sp
  JOIN shapes sh ON sh.id = sp.shape_id
  JOIN dtype_sizes dz ON dz.dtype_id = sp.dtype_id
  WHERE sp.metadata = 'array' AND dz.bits IS NOT NULL),
dim_parts AS MATERIALIZED (  -- how many parts each dimension of each spec is cut into
  SELECT a.spec_id, sd.dim, sd.size, coalesce(x.parts, 1) AS parts
  FROM arrays a JOIN shape_dims sd ON sd.shape_id = a.shape_id
  LEFT JOIN splits x ON x.sharding_id = a.sharding_id AND x.dim = sd.dim),
dims(spec_id, dim, elements, shard_elements, distinct_shards, uneven, shard_shape) AS (
  SELECT spec_id, 0, 1, 1, 1, '', '' FROM arrays
  UNION ALL
  SELECT d.spec_id, d.dim + 1, d.elements * x.size,
         d.shard_elements * ((x.size + x.parts - 1) / x.parts),
         d.distinct_shards * x.parts,
         d.uneven || CASE WHEN x.size % x.parts = 0 THEN ''
                          ELSE CASE WHEN d.uneven = '' THEN '' ELSE ', ' END
                               || 'dimension ' || d.dim || ': ' || x.size || ' into ' || x.parts END,
         d.shard_shape || CASE WHEN d.dim = 0 THEN '' ELSE ', ' END
                       || ((x.size + x.parts - 1) / x.parts)
  FROM dims d JOIN dim_parts x ON x.spec_id = d.spec_id AND x.dim = d.dim),
unknown_axes AS MATERIALIZED (
  SELECT sharding_id, sum(unknown_axes) AS unknown FROM splits GROUP BY sharding_id),
specs AS (
  SELECT a.spec_id, a.sharding_id, a.dtype, a.shape, s.kind AS sharding_kind, s.mesh_id,
         (d.elements * a.bits + 7) / 8 AS logical_bytes,
         (d.shard_elements * a.bits + 7) / 8 AS shard_bytes,
         d.distinct_shards, d.uneven, '[' || d.shard_shape || ']' AS shard_shape,
         CASE s.kind WHEN 'named' THEN me.elements WHEN 'single_device' THEN 1
                     ELSE d.distinct_shards END AS device_count,
         CASE
         WHEN s.kind = 'named' AND ps.entry_count > a.rank
           THEN 'partition spec has ' || ps.entry_count || ' entries for an array of rank ' || a.rank
         WHEN s.kind = 'named' AND (SELECT unknown FROM unknown_axes WHERE sharding_id = s.id) > 0
           THEN 'partition spec names an axis not in the mesh'
         WHEN s.kind = 'named' AND (SELECT count(*) - count(DISTINCT name) FROM partition_spec_axes
                                    WHERE spec_id = s.partition_spec_id) > 0
           THEN 'partition spec names an axis twice'
         WHEN s.kind = 'named' AND coalesce(me.elements, 0) <= 0 THEN 'mesh is empty'
         WHEN s.kind = 'positional' AND pe.rank <> a.rank
           THEN 'positional sharding of rank ' || pe.rank || ' for an array of rank ' || a.rank
         WHEN s.kind = 'positional' AND (SELECT min(size) FROM shape_dims WHERE shape_id = s.shape_id) <= 0
           THEN 'positional sharding splits a dimension into no parts'
         END AS invalid
  FROM arrays a
  JOIN dims d ON d.spec_id = a.spec_id AND d.dim = a.rank
  LEFT JOIN shardings s ON s.id = a.sharding_id
  LEFT JOIN meshes m ON m.id = s.mesh_id
  LEFT JOIN shape_elements me ON me.shape_id = m.shape_id
  LEFT JOIN partition_specs ps ON ps.id = s.partition_spec_id
  LEFT JOIN shape_elements pe ON pe.shape_id = s.shape_id)
SELECT c.directory AS checkpoint_dir,
       c.step AS step,
       i.name AS item,
       p.name AS name,
       f.dtype AS dtype,
       f.shape AS shape,
       f.sharding_kind AS sharding_kind,
       CASE WHEN f.sharding_id IS NULL THEN 'unsharded' WHEN f.invalid IS NOT NULL THEN 'invalid'
            WHEN f.uneven <> '' THEN 'uneven' ELSE 'even' END AS status,
       CASE WHEN f.invalid IS NOT NULL THEN f.invalid
            WHEN f.uneven <> '' THEN 'not divisible: ' || f.uneven END AS problem,
       CASE WHEN f.sharding_id IS NOT NULL AND f.invalid IS NULL THEN f.shard_shape END
         AS shard_shape,
       f.logical_bytes AS logical_bytes,
       CASE WHEN f.sharding_id IS NOT NULL AND f.invalid IS NULL THEN f.shard_bytes END AS shard_bytes,
       CASE WHEN f.sharding_id IS NOT NULL AND f.invalid IS NULL THEN f.distinct_shards END
         AS distinct_shards,
       CASE WHEN f.sharding_id IS NOT NULL AND f.invalid IS NULL
            THEN f.device_count / f.distinct_shards END AS replication,
       CASE WHEN f.sharding_id IS NOT NULL AND f.invalid IS NULL THEN f.device_count END
         AS device_count,
       c.id AS checkpoint_id,
       i.id AS item_id,
       l.ord AS ord,
       f.sharding_id AS sharding_id,
       f.mesh_id AS mesh_id
FROM leaves l
JOIN specs f ON f.spec_id = l.spec_id
JOIN items i ON i.id = l.item_id
JOIN checkpoints c ON c.id = i.checkpoint_id
JOIN key_paths p ON p.id = l.key_path_id;
