// Store (store.h): the reads every store shares.
#include "store.h"

#include "ckptcat/error.h"

namespace ckptcat::storage {

void Store::read_bounded(const std::string& file, std::string& out, uint64_t max_bytes) {
  const auto opened = open(file);
  if (opened->size() > max_bytes)
    throw Error(Error::Code::kInvalid,
                "file is " + std::to_string(opened->size()) + " bytes, over the " +
                    std::to_string(max_bytes) + "-byte limit for metadata files",
                file);
  out.resize(opened->size());
  opened->read_at(0, out.data(), out.size());
}

}  // namespace ckptcat::storage
