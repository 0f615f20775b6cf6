// ckptcat: catalog the metadata of Orbax checkpoints in SQLite.
#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
  CLI::App app{"ckptcat: catalog the metadata of Orbax (JAX) checkpoints in SQLite"};
  app.require_subcommand(0);
  CLI11_PARSE(app, argc, argv);
  if (argc == 1) std::cout << app.help();
  return 0;
}
