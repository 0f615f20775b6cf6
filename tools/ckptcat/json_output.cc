// JSON output (json_output.h).
#include "json_output.h"

#include <ostream>

#include "ckptcat/leaf_fields.h"
#include "format.h"

namespace ckptcat::cli {

ojson optional_json(const std::optional<std::string>& v) { return v ? ojson(*v) : ojson(nullptr); }
ojson optional_json(const std::optional<int64_t>& v) { return v ? ojson(*v) : ojson(nullptr); }
ojson optional_json(const std::optional<Shape>& v) { return v ? ojson(*v) : ojson(nullptr); }

ojson leaf_json(const std::string& item_directory, std::optional<int64_t> step, const Leaf& leaf) {
  ojson j;
  j["item"] = item_directory;
  j["step"] = optional_json(step);
  j["name"] = leaf.name;
  j["value_type"] = leaf.value_type;
  j["kind"] = to_string(leaf.kind);
  j["shape"] = optional_json(leaf_shape(leaf));
  j["dtype"] = optional_json(leaf_dtype(leaf));
  j["chunk_shape"] = optional_json(leaf_chunk_shape(leaf));
  j["write_shape"] = optional_json(leaf_write_shape(leaf));
  j["stored_bytes"] = leaf.stored ? ojson(leaf.stored->bytes) : ojson(nullptr);
  j["sharding"] = optional_json(leaf.sharding_string);
  if (leaf.error) j["error"] = *leaf.error;
  return j;
}

ojson item_error_json(const ItemMetadata& item, std::optional<int64_t> step) {
  ojson j;
  j["item"] = item.directory;
  j["step"] = optional_json(step);
  j["error"] = item.error.value_or("");
  return j;
}

ojson leaf_shards_json(const LeafShards& s) {
  const bool placed = s.status == ShardStatus::kEven || s.status == ShardStatus::kUneven;
  auto placed_only = [placed](uint64_t v) { return placed ? ojson(v) : ojson(nullptr); };
  ojson j;
  j["status"] = to_string(s.status);
  if (!s.problem.empty()) j["problem"] = s.problem;
  j["shard_shape"] = placed ? ojson(s.shard_shape) : ojson(nullptr);
  j["logical_bytes"] = s.logical_bytes;
  j["shard_bytes"] = placed_only(s.shard_bytes);
  j["distinct_shards"] = placed_only(s.distinct_shards);
  j["replication"] = placed_only(s.replication);
  j["device_count"] = placed_only(s.device_count);
  return j;
}

ojson shard_totals_json(const ShardTotals& t) {
  auto device = [](const std::optional<DeviceBytes>& d) {
    return d ? ojson{{"id", d->device_id}, {"bytes", d->bytes}} : ojson(nullptr);
  };
  ojson j;
  j["arrays"] = t.arrays;
  j["logical_bytes"] = t.logical_bytes;
  j["placed_bytes"] = t.placed_bytes;
  j["held_bytes"] = t.held_bytes;
  j["replication_overhead"] = t.replication_overhead();
  j["uneven_arrays"] = t.uneven_arrays;
  j["invalid_arrays"] = t.invalid_arrays;
  j["unsharded_arrays"] = t.unsharded_arrays;
  j["unsharded_bytes"] = t.unsharded_bytes;
  j["device_ids_known"] = t.device_ids_known;
  j["largest_device"] = device(t.largest_device());
  j["smallest_device"] = device(t.smallest_device());
  j["devices"] = ojson::array();
  for (const auto& d : t.devices) j["devices"].push_back({{"id", d.device_id}, {"bytes", d.bytes}});
  return j;
}

ojson checkpoint_json(const CheckpointSummary& s) {
  ojson j;
  j["directory"] = s.directory;
  j["root"] = s.root;
  j["step_name"] = s.step_name;
  j["step"] = optional_json(s.step);
  j["finished"] = s.finished;
  j["time"] = iso_time(s.time_nsecs);
  j["time_nsecs"] = s.time_nsecs;
  j["init_timestamp_nsecs"] = optional_json(s.init_timestamp_nsecs);
  j["commit_timestamp_nsecs"] = optional_json(s.commit_timestamp_nsecs);
  j["items"] = s.item_count;
  j["leaves"] = s.leaf_count;
  j["stored_bytes"] = s.stored_bytes;
  j["errors"] = s.error_count;
  j["fingerprint"] = s.fingerprint;
  return j;
}

void print_json(std::ostream& out, const ojson& value, bool indent) {
  out << value.dump(indent ? 2 : -1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

}  // namespace ckptcat::cli
