// _CHECKPOINT_METADATA and root metadata (see step_metadata.h).
//
// On-disk form (orbax-format.md §2.1): one JSON object, written by Python
// json.dumps, with the keys item_handlers (string, or {item: typestr}),
// metrics ({}), performance_metrics ({}), init_timestamp_nsecs (int),
// commit_timestamp_nsecs (int or null) and custom_metadata ({}). Any key may
// be missing. Keys Orbax does not know are moved into custom_metadata when
// custom_metadata is empty (that is how the Nov 2024 - Jan 2025 key "custom"
// reads back); when it is not empty Orbax refuses the file, we keep the file
// and report the unknown keys inside custom_metadata anyway, under their names.
#include "step_metadata.h"

#include "json_file.h"

namespace ckptcat::orbax {
namespace {

using json = nlohmann::ordered_json;

// An object-valued field as JSON text; null or absent -> "{}".
std::string object_text(const json& doc, const char* key, const std::string& file) {
  const auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return "{}";
  if (!it->is_object())
    throw Error(Error::Code::kInvalid,
                std::string("\"") + key + "\" must be an object, not " + it->type_name(), file);
  return to_python_json(*it);
}

// Moves keys not in `known` into the custom_metadata object (§2.3).
json merged_custom_metadata(const json& doc, std::initializer_list<std::string_view> known,
                            const std::string& file) {
  json custom = json::object();
  if (const auto it = doc.find("custom_metadata"); it != doc.end() && !it->is_null()) {
    if (!it->is_object())
      throw Error(Error::Code::kInvalid,
                  std::string("\"custom_metadata\" must be an object, not ") + it->type_name(),
                  file);
    custom = *it;
  }
  for (const auto& [key, value] : doc.items()) {
    bool is_known = key == "custom_metadata";
    for (auto k : known) is_known = is_known || key == k;
    if (!is_known) custom[key] = value;
  }
  return custom;
}

}  // namespace

StepMetadata parse_step_metadata(std::string_view text, const std::string& file) {
  const json doc = parse_json(text, file);
  if (!doc.is_object())
    throw Error(Error::Code::kInvalid, "_CHECKPOINT_METADATA must hold a JSON object", file);
  StepMetadata meta;
  meta.present = true;
  if (const auto it = doc.find("item_handlers"); it != doc.end() && !it->is_null()) {
    if (it->is_string()) {
      meta.item_handlers = it->get<std::string>();
    } else if (it->is_object()) {
      std::map<std::string, std::optional<std::string>> handlers;
      for (const auto& [item, typestr] : it->items()) {
        if (typestr.is_string()) handlers[item] = typestr.get<std::string>();
        else if (typestr.is_null()) handlers[item] = std::nullopt;
        else
          throw Error(Error::Code::kInvalid,
                      "item_handlers[\"" + item + "\"] must be a string or null", file);
      }
      meta.item_handlers = std::move(handlers);
    } else {
      throw Error(Error::Code::kInvalid,
                  std::string("\"item_handlers\" must be a string or an object, not ") +
                      it->type_name(),
                  file);
    }
  }
  meta.metrics = object_text(doc, "metrics", file);
  meta.performance_metrics = object_text(doc, "performance_metrics", file);
  meta.init_timestamp_nsecs = get_int64(doc, "init_timestamp_nsecs", file);
  meta.commit_timestamp_nsecs = get_int64(doc, "commit_timestamp_nsecs", file);
  if (const auto it = doc.find("commit_timestamp_nsecs"); it != doc.end() && it->is_null())
    meta.commit_timestamp_null = true;
  meta.custom_metadata = to_python_json(merged_custom_metadata(
      doc,
      {"item_handlers", "metrics", "performance_metrics", "init_timestamp_nsecs",
       "commit_timestamp_nsecs"},
      file));
  return meta;
}

StepMetadata read_step_metadata(const std::filesystem::path& dir, std::vector<Problem>& problems) {
  const auto file = dir / "_CHECKPOINT_METADATA";
  if (!entry_or_object_exists(file)) return {};
  try {
    return parse_step_metadata(read_file_bounded(file), file.string());
  } catch (const Error& e) {
    problems.push_back({Problem::Severity::kWarning, file.string(),
                        "step metadata unreadable, defaults used: " + e.message()});
    return {};
  }
}

RootMetadata parse_root_metadata(std::string_view text, const std::string& file, bool legacy) {
  const json doc = parse_json(text, file);
  if (!doc.is_object())
    throw Error(Error::Code::kInvalid, "root metadata must hold a JSON object", file);
  RootMetadata root;
  root.present = true;
  root.file = file;
  root.legacy = legacy;
  if (legacy) {
    root.custom_metadata = to_python_json(doc);
    return root;
  }
  root.internal_metadata = object_text(doc, "internal_metadata", file);
  root.custom_metadata =
      to_python_json(merged_custom_metadata(doc, {"internal_metadata"}, file));
  return root;
}

}  // namespace ckptcat::orbax
