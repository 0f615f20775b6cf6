-- ckptcat catalog, schema version 1: the tables.
--
-- Layout. A checkpoint (step folder) belongs to a root and holds items; an
-- item holds leaves in _METADATA order. Everything a leaf repeats across
-- checkpoints (its key path, value type, dtype, shapes, storage, sharding) is
-- interned in a dedup table keyed by content, so the per-leaf row is a handful
-- of small integers: 1,000 checkpoints x 1,000 leaves with the same names and
-- shapes cost 1,000,000 narrow `leaves` rows plus ~1,000 rows of everything
-- else, and a 4,096-device mesh shared by 10,000 arrays is one `meshes` row,
-- 4,096 `mesh_devices` rows and its `mesh_axes` rows.
--
-- Dedup rows are never deleted (removing a checkpoint leaves them for the
-- next import), which keeps every process' in-memory id caches valid.
--
-- Conventions: booleans are 0/1; "*_json" columns hold the Python json.dumps
-- (ensure_ascii) token of the plain column beside them, computed at ingest, so
-- the views can rebuild Orbax's strings byte for byte without extensions;
-- shapes.json is a Python-style JSON list ("[2, 4]", "[]").

CREATE TABLE roots (
  id   INTEGER PRIMARY KEY,
  path TEXT NOT NULL UNIQUE              -- "" for checkpoints without a root
);

CREATE TABLE checkpoints (
  id                INTEGER PRIMARY KEY,
  directory         TEXT NOT NULL UNIQUE,  -- the import key
  fingerprint       TEXT NOT NULL,         -- the reader's stat-based fingerprint
  root_id           INTEGER NOT NULL REFERENCES roots(id),
  step_name         TEXT NOT NULL,
  step              INTEGER,               -- NULL for names like "best"
  direct            INTEGER NOT NULL,
  layout_version    INTEGER NOT NULL,
  finished          INTEGER NOT NULL,
  unfinished_reason TEXT NOT NULL,
  commit_marker     INTEGER NOT NULL,
  mtime_nsecs       INTEGER NOT NULL,
  time_nsecs        INTEGER NOT NULL,      -- commit_timestamp_nsecs, else mtime_nsecs
  -- _CHECKPOINT_METADATA (StepMetadata)
  step_metadata_present  INTEGER NOT NULL,
  item_handlers_kind     INTEGER NOT NULL CHECK (item_handlers_kind IN (0, 1, 2)),
                                           -- 0 absent, 1 a string, 2 a map (step_item_handlers)
  item_handlers_string   TEXT,
  metrics                TEXT NOT NULL,    -- JSON text
  performance_metrics    TEXT NOT NULL,
  custom_metadata        TEXT NOT NULL,
  init_timestamp_nsecs   INTEGER,
  commit_timestamp_nsecs INTEGER,
  commit_timestamp_null  INTEGER NOT NULL,
  -- written once at ingest (rows are immutable afterwards)
  item_count        INTEGER NOT NULL,
  leaf_count        INTEGER NOT NULL,
  stored_bytes      INTEGER NOT NULL
);
CREATE INDEX checkpoints_by_root_step ON checkpoints(root_id, step);

-- StepMetadata.item_handlers when it is a map {item: typestr or null}.
CREATE TABLE step_item_handlers (
  checkpoint_id INTEGER NOT NULL REFERENCES checkpoints(id) ON DELETE CASCADE,
  item          TEXT NOT NULL,
  typestr       TEXT,
  PRIMARY KEY (checkpoint_id, item)
) WITHOUT ROWID;

CREATE TABLE items (
  id            INTEGER PRIMARY KEY,
  checkpoint_id INTEGER NOT NULL REFERENCES checkpoints(id) ON DELETE CASCADE,
  ord           INTEGER NOT NULL,          -- position in CheckpointMetadata.items
  name          TEXT NOT NULL,             -- "" for a direct checkpoint
  directory     TEXT NOT NULL,
  kind          TEXT NOT NULL CHECK (kind IN ('pytree', 'json', 'other')),
  handler       TEXT,
  -- TreeFlags (top-level _METADATA fields)
  use_ocdbt     INTEGER,
  use_zarr3     INTEGER NOT NULL,
  store_array_data_equal_to_fill_value INTEGER,
  custom_metadata TEXT,
  has_value_metadata_tree INTEGER NOT NULL,
  array_store   TEXT NOT NULL
                CHECK (array_store IN ('none', 'ocdbt', 'ocdbt-per-process', 'files', 'msgpack')),
  json_content  TEXT,
  error         TEXT,                      -- item-level failure (then no leaves)
  leaf_count    INTEGER NOT NULL,
  stored_bytes  INTEGER NOT NULL,
  UNIQUE (checkpoint_id, ord)
);

-- CheckpointMetadata.problems (item_id NULL) and ItemMetadata.problems, in order.
CREATE TABLE problems (
  id            INTEGER PRIMARY KEY,
  checkpoint_id INTEGER NOT NULL REFERENCES checkpoints(id) ON DELETE CASCADE,
  item_id       INTEGER REFERENCES items(id) ON DELETE CASCADE,
  severity      TEXT NOT NULL CHECK (severity IN ('warning', 'error')),
  file          TEXT NOT NULL,
  message       TEXT NOT NULL
);
CREATE INDEX problems_by_checkpoint ON problems(checkpoint_id);
CREATE INDEX problems_by_item ON problems(item_id);

-- ---- dedup tables --------------------------------------------------------------

-- Key paths. `keys` is '' when the keys are the name split at "." (no key
-- holds a "."), else the JSON list of keys; key_types has one digit per key
-- (1 sequence, 2 dict: orbax-format.md §3.2).
CREATE TABLE key_paths (
  id        INTEGER PRIMARY KEY,
  name      TEXT NOT NULL,                 -- Orbax's param name
  key_types TEXT NOT NULL,
  keys      TEXT NOT NULL,
  UNIQUE (name, key_types, keys)
);

CREATE TABLE value_types (
  id   INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE                -- "jax.Array", "scalar", "Dict", ...
);

CREATE TABLE dtypes (
  id   INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE                -- "float32", "bfloat16", ...
);

-- Shapes (array shapes, chunk and write shapes, mesh shapes), one row per
-- distinct shape, with one shape_dims row per dimension.
CREATE TABLE shapes (
  id   INTEGER PRIMARY KEY,
  rank INTEGER NOT NULL,
  json TEXT NOT NULL UNIQUE                -- "[2, 4]"
);
CREATE TABLE shape_dims (
  shape_id INTEGER NOT NULL REFERENCES shapes(id),
  dim      INTEGER NOT NULL,
  size     INTEGER NOT NULL,
  PRIMARY KEY (shape_id, dim)
) WITHOUT ROWID;

-- StorageMetadata(chunk_shape, write_shape); a NULL id is None.
CREATE TABLE storages (
  id             INTEGER PRIMARY KEY,
  chunk_shape_id INTEGER REFERENCES shapes(id),
  write_shape_id INTEGER REFERENCES shapes(id),
  key            TEXT NOT NULL UNIQUE      -- "<chunk id or 0>:<write id or 0>"
);

-- Device meshes of NamedShardings: axis names, sizes and types, device ids.
CREATE TABLE meshes (
  id             INTEGER PRIMARY KEY,
  shape_id       INTEGER NOT NULL REFERENCES shapes(id),
  has_axis_types INTEGER NOT NULL,         -- axis_types present (since 2025-09)
  has_devices    INTEGER NOT NULL,         -- device_mesh present (since 2024-09)
  device_count   INTEGER NOT NULL,
  key            TEXT NOT NULL UNIQUE      -- JSON [shape, names, types|null, ids|null]
);
CREATE TABLE mesh_axes (
  mesh_id        INTEGER NOT NULL REFERENCES meshes(id),
  axis           INTEGER NOT NULL,
  name           TEXT NOT NULL,
  name_json      TEXT NOT NULL,
  size           INTEGER NOT NULL,
  span           INTEGER NOT NULL,         -- product of the sizes of this and later axes
  axis_type      TEXT,
  axis_type_json TEXT,
  PRIMARY KEY (mesh_id, axis)
) WITHOUT ROWID;
CREATE INDEX mesh_axes_by_name ON mesh_axes(name);
-- Device ids in row-major mesh order (present when has_devices).
CREATE TABLE mesh_devices (
  mesh_id   INTEGER NOT NULL REFERENCES meshes(id),
  pos       INTEGER NOT NULL,
  device_id INTEGER NOT NULL,
  PRIMARY KEY (mesh_id, pos)
) WITHOUT ROWID;

-- Partition specs: entries are None (kind 0), one axis (kind 1: "x") or a
-- list of axes (kind 2: ["x"], ["x", "y"], []), so "x" and ["x"] stay distinct.
CREATE TABLE partition_specs (
  id          INTEGER PRIMARY KEY,
  entry_count INTEGER NOT NULL,
  key         TEXT NOT NULL UNIQUE         -- the spec's JSON list
);
CREATE TABLE partition_spec_entries (
  spec_id INTEGER NOT NULL REFERENCES partition_specs(id),
  pos     INTEGER NOT NULL,
  kind    INTEGER NOT NULL CHECK (kind IN (0, 1, 2)),
  PRIMARY KEY (spec_id, pos)
) WITHOUT ROWID;
CREATE TABLE partition_spec_axes (
  spec_id   INTEGER NOT NULL,
  pos       INTEGER NOT NULL,
  sub       INTEGER NOT NULL,              -- index inside a kind-2 entry; 0 for kind 1
  name      TEXT NOT NULL,
  name_json TEXT NOT NULL,
  PRIMARY KEY (spec_id, pos, sub),
  FOREIGN KEY (spec_id, pos) REFERENCES partition_spec_entries(spec_id, pos)
) WITHOUT ROWID;

-- Shardings: NamedSharding (mesh + partition spec), SingleDeviceSharding
-- (device_str) or PositionalSharding (shape + optional memory_kind).
CREATE TABLE shardings (
  id                INTEGER PRIMARY KEY,
  kind              TEXT NOT NULL CHECK (kind IN ('named', 'single_device', 'positional')),
  mesh_id           INTEGER REFERENCES meshes(id),
  partition_spec_id INTEGER REFERENCES partition_specs(id),
  device_str        TEXT,
  device_str_json   TEXT,
  shape_id          INTEGER REFERENCES shapes(id),
  memory_kind       TEXT,
  memory_kind_json  TEXT,
  key               TEXT NOT NULL UNIQUE
);

-- Everything a leaf has except its key path, stored size and rare extras.
-- sharding_id: the leaf's _sharding string, normalized (NULL when absent or
-- kept raw in leaf_extras.sharding_raw). array_sharding_id:
-- ArrayMetadata.sharding (normally the same row).
CREATE TABLE leaf_specs (
  id                INTEGER PRIMARY KEY,
  value_type_id     INTEGER NOT NULL REFERENCES value_types(id),
  kind              TEXT NOT NULL
                    CHECK (kind IN ('array', 'scalar', 'string', 'empty', 'bare', 'other')),
  skip_deserialize  INTEGER NOT NULL,
  metadata          TEXT NOT NULL          -- which typed object Orbax reports
                    CHECK (metadata IN ('none', 'array', 'scalar', 'string', 'bare')),
  dtype_id          INTEGER REFERENCES dtypes(id),
  shape_id          INTEGER REFERENCES shapes(id),
  storage_id        INTEGER REFERENCES storages(id),
  sharding_id       INTEGER REFERENCES shardings(id),
  array_sharding_id INTEGER REFERENCES shardings(id),
  key               TEXT NOT NULL UNIQUE
);

-- ---- leaves ----------------------------------------------------------------------

-- One narrow row per leaf: (item, position) and interned ids. stored_chunks
-- and stored_bytes are NULL when the size is unknown.
--
-- The hot table declares no FOREIGN KEY: checking three parents per inserted
-- row costs a third of the ingest time. Its references are written by the
-- catalog code only, dedup rows are never deleted, the trigger below removes
-- an item's leaves with it, and Catalog::verify() checks for orphans.
CREATE TABLE leaves (
  item_id       INTEGER NOT NULL,          -- items(id)
  ord           INTEGER NOT NULL,          -- position in ItemMetadata.leaves
  key_path_id   INTEGER NOT NULL,          -- key_paths(id)
  spec_id       INTEGER NOT NULL,          -- leaf_specs(id)
  stored_chunks INTEGER,
  stored_bytes  INTEGER,
  PRIMARY KEY (item_id, ord)
) WITHOUT ROWID;

CREATE TRIGGER items_delete_leaves AFTER DELETE ON items
BEGIN
  DELETE FROM leaves WHERE item_id = OLD.id;
END;

-- The rare per-leaf fields, one row only for leaves that have any.
-- meta_name / meta_directory: the typed object's name and directory when they
-- differ from the leaf name / item directory (NULL: the same).
CREATE TABLE leaf_extras (
  item_id         INTEGER NOT NULL,
  ord             INTEGER NOT NULL,
  sharding_raw    TEXT,     -- a _sharding string that does not round-trip, verbatim
  random_key_impl TEXT,
  string_value    TEXT,
  inline_shape_id INTEGER REFERENCES shapes(id),
  inline_dtype_id INTEGER REFERENCES dtypes(id),
  error           TEXT,
  meta_name       TEXT,
  meta_directory  TEXT,
  PRIMARY KEY (item_id, ord),
  FOREIGN KEY (item_id, ord) REFERENCES leaves(item_id, ord) ON DELETE CASCADE
) WITHOUT ROWID;
