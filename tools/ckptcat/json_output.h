// Machine output: the JSON objects commands print (--json, export) and how
// they are written (UTF-8, invalid bytes replaced, one line or indented).
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "ckptcat/catalog.h"
#include "ckptcat/checkpoint.h"
#include "ckptcat/shards.h"

namespace ckptcat::cli {

using ojson = nlohmann::ordered_json;

// One leaf as `ckptcat export` prints it: item (folder), step, name,
// value_type, kind, shape, dtype, chunk_shape, write_shape, stored_bytes,
// sharding (the _sharding string as stored), and error for a degraded leaf.
ojson leaf_json(const std::string& item_directory, std::optional<int64_t> step, const Leaf& leaf);
// An item that could not be read: item, step and error.
ojson item_error_json(const ItemMetadata& item, std::optional<int64_t> step);

// One array's shards (ckptcat/shards.h): status, problem (uneven or invalid
// only), shard_shape, logical_bytes, shard_bytes, distinct_shards,
// replication, device_count (the last four null unless placed on devices).
ojson leaf_shards_json(const LeafShards& shards);
// Sums over leaves: logical, placed and held bytes, replication_overhead,
// counts of uneven / invalid / unsharded arrays, largest_device and
// smallest_device ({"id", "bytes"} or null) and every device's bytes.
ojson shard_totals_json(const ShardTotals& totals);

// A list_checkpoints() row.
ojson checkpoint_json(const CheckpointSummary& summary);

// Writes `value` and a newline: compact (one line) or indented by 2.
void print_json(std::ostream& out, const ojson& value, bool indent);

ojson optional_json(const std::optional<std::string>& v);
ojson optional_json(const std::optional<int64_t>& v);
ojson optional_json(const std::optional<Shape>& v);

}  // namespace ckptcat::cli
