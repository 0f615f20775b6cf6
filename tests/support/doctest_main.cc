// The one doctest main shared by every test program. Cases that need
// ../shared are skipped one by one when it is absent (shared_case.h); this says
// so once, on a line tools/test collects.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <iostream>

#include "shared_data.h"

int main(int argc, char** argv) {
  if (!ckptcat::testing::shared_available())
    std::cerr << "SKIP: shared test data not found at " << ckptcat::testing::shared_dir()
              << " (set CKPTCAT_SHARED_DIR or -Dshared_dir): the cases that need it are skipped\n";
  doctest::Context context(argc, argv);
  return context.run();
}
