// Constructed CheckpointMetadata for the catalog tests, and a field-by-field
// comparison that reports which field differs.
#pragma once

#include <string>

#include "ckptcat/checkpoint.h"

namespace ckptcat::testing {

// A leaf of each kind with every optional Leaf field used somewhere: arrays
// with named / single-device / positional shardings, raw (non round-tripping)
// sharding strings, scalars, strings, empty values, bare leaves, custom types,
// degraded leaves, keys holding "." and sequence keys.
CheckpointMetadata sample_checkpoint(const std::string& directory, int64_t step,
                                     const std::string& root = "/runs/exp");

// An array leaf named `name` with the given _sharding string (parsed into
// ArrayMetadata.sharding when it parses).
Leaf array_leaf(const std::string& name, const std::string& item_directory,
                const std::optional<std::string>& sharding_string);

// Every field equal (typed objects with same_as and exact device strings).
// Reports the first differences through doctest CHECKs.
void check_same(const CheckpointMetadata& expected, const CheckpointMetadata& actual);
void check_same(const ItemMetadata& expected, const ItemMetadata& actual);
void check_same(const Leaf& expected, const Leaf& actual);

}  // namespace ckptcat::testing
