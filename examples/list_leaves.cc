// list_leaves: a small program built on the installed ckptcat library.
//
//   list_leaves CATALOG [DTYPE]
//
// Opens a catalog read-only, finds its array leaves (of one dtype, when given)
// and prints each with the typed metadata Orbax would report: shape, dtype,
// chunking and the serialized sharding string, byte for byte as on disk.
#include <ckptcat/catalog.h>
#include <ckptcat/error.h>

#include <iostream>
#include <string>

namespace {

std::string shape_text(const ckptcat::Shape& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: list_leaves CATALOG [DTYPE]\n";
    return 2;
  }
  try {
    ckptcat::CatalogOptions options;
    options.read_only = true;
    const ckptcat::Catalog catalog(argv[1], options);
    ckptcat::LeafFilter filter;
    filter.kind = ckptcat::LeafKind::kArray;
    if (argc == 3) filter.dtype = argv[2];
    size_t count = 0;
    for (const ckptcat::LeafRecord& record : catalog.find_leaves(filter)) {
      const auto* array = std::get_if<ckptcat::ArrayMetadata>(&record.leaf.metadata);
      if (!array) continue;
      ++count;
      std::cout << record.checkpoint_directory << "  " << record.item_name << "  " << array->name
                << "  " << array->dtype.value_or("?") << "  "
                << (array->shape ? shape_text(*array->shape) : std::string("?"));
      if (array->storage && array->storage->chunk_shape)
        std::cout << "  chunks " << shape_text(*array->storage->chunk_shape);
      if (array->sharding) std::cout << "  " << ckptcat::to_serialized_string(*array->sharding);
      std::cout << '\n';
    }
    std::cout << count << " array leaves\n";
    return 0;
  } catch (const ckptcat::Error& e) {
    std::cerr << "list_leaves: " << e.what() << '\n';
    return 2;
  }
}
