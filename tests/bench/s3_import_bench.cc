// bench_s3_import: `ckptcat import s3://...` of an Orbax-faithful tree (OCDBT,
// two processes; ckptcat-gen's orbax preset) uploaded to a real s3rver, read
// through a forwarding proxy that adds a fixed latency to every request, as
// an object store does (about 25 ms per request on GCS). Prints one table:
// requests per checkpoint, bytes fetched per leaf, import wall time, the
// latency-bound lower bound, their ratio, leaves/s, and a no-op re-import
// (listings only), with issue #13's targets.
//
//   bench_s3_import                     # 100 checkpoints x 1,000 leaves, 25 ms
//   bench_s3_import --smoke             # 4 checkpoints x 50 leaves (seconds)
//   bench_s3_import --steps 20 --leaves 500 --latency-ms 10 --configs 16x64,64x1
//
// The bound: each checkpoint needs a chain of dependent requests (list the
// step, read its metadata, then the OCDBT manifest, then its B+tree nodes
// ...), measured as the import of one checkpoint alone divided by the
// latency. With F requests in flight (readers x in flight per reader), N
// checkpoints cannot be done faster than max(1, N / F) chains:
//   bound = latency x depth x max(1, N / F).
// Needs node, tests/s3/node_modules and boto3 like the object-store tests;
// exits 77 (skipped) without them.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "forwarding_proxy.h"
#include "generator.h"
#include "helpers.h"
#include "shared_data.h"
#include "tool_runner.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using ckptcat::testing::ForwardingProxy;
using ckptcat::testing::number_before;

constexpr const char* kBucket = "bench";

struct ReaderConfig {
  unsigned readers = 16;    // ckptcat import --jobs
  unsigned in_flight = 64;  // ckptcat import --in-flight (per reader)
  unsigned total() const { return readers * in_flight; }
  std::string name() const { return std::to_string(readers) + " x " + std::to_string(in_flight); }
};

// "16x64" -> {16, 64}.
ReaderConfig parse_config(const std::string& text) {
  ReaderConfig config;
  char x = 0;
  std::istringstream in(text);
  if (!(in >> config.readers >> x >> config.in_flight) || x != 'x' || config.readers == 0 ||
      config.in_flight == 0)
    throw CLI::ValidationError("--configs", "expected READERSxIN_FLIGHT, e.g. 16x64: " + text);
  return config;
}

// What one `ckptcat import -v` cost, from its request line and the proxy.
struct ImportFigures {
  int exit_code = -1;
  double seconds = 0;
  long listings = 0, heads = 0, gets = 0, http_requests = 0, retries = 0, bytes = 0;
  long max_in_flight = 0;  // seen by the proxy
  std::string err;
};

ImportFigures import_through(ForwardingProxy& proxy, const std::string& db, const std::string& url,
                             const ReaderConfig& config) {
  proxy.reset_counts();
  const auto start = Clock::now();
  const auto result = ckptcat::testing::run_tool(
      {"import", "-v", "--db", db, "--endpoint-url", proxy.endpoint(), "--jobs", std::to_string(config.readers),
       "--in-flight", std::to_string(config.in_flight), url});
  ImportFigures f;
  f.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  f.exit_code = result.exit_code;
  f.listings = number_before(result.err, "listings");
  f.heads = number_before(result.err, "HEADs");
  f.gets = number_before(result.err, "GETs");
  f.http_requests = number_before(result.err, "HTTP requests");
  f.retries = number_before(result.err, "retries");
  f.bytes = number_before(result.err, "bytes received");
  f.max_in_flight = proxy.counts().max_in_flight;
  f.err = result.err;
  return f;
}

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

std::string with_commas(long value) {
  std::string digits = std::to_string(value), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("ckptcat import of s3:// through a proxy adding latency (issue #13's benchmark)");
  int steps = 100, leaves = 1000, latency_ms = 25;
  std::vector<std::string> config_names = {"16x64", "16x4", "64x1"};
  bool smoke = false;
  app.add_option("--steps", steps, "checkpoints (one run, orbax style)")->check(CLI::PositiveNumber);
  app.add_option("--leaves", leaves, "leaves per checkpoint")->check(CLI::PositiveNumber);
  app.add_option("--latency-ms", latency_ms, "added by the proxy to every request")->check(CLI::NonNegativeNumber);
  app.add_option("--configs", config_names, "readers x in flight per reader, e.g. 16x64 (ckptcat's default)")
      ->delimiter(',');
  app.add_flag("--smoke", smoke, "4 checkpoints x 50 leaves, one config (seconds)");
  CLI11_PARSE(app, argc, argv);
  if (smoke) {
    steps = 4;
    leaves = 50;
    config_names = {"16x64"};
  }
  std::vector<ReaderConfig> configs;
  for (const auto& name : config_names) configs.push_back(parse_config(name));

  if (auto why = ckptcat::testing::S3rver::unavailable()) {
    ckptcat::testing::skip_case("bench_s3_import", *why);
    return 77;
  }
  ckptcat::testing::TempDir dir;
  ckptcat::gen::Options options = ckptcat::gen::preset_options(ckptcat::gen::Preset::kOrbax);
  options.steps = steps;
  options.leaves = leaves;
  const auto tree = ckptcat::gen::plan_tree(options);
  ckptcat::gen::write_tree(tree, dir.path() / "tree");
  const long checkpoints = static_cast<long>(tree.checkpoint_count());
  const long leaf_count = static_cast<long>(tree.leaf_count());

  ckptcat::testing::S3rver server({kBucket});
  auto start = Clock::now();
  server.upload(dir.path() / "tree", kBucket, "orbax/", /*folder_markers=*/true);
  std::cerr << "uploaded in " << fixed(std::chrono::duration<double>(Clock::now() - start).count(), 1)
            << " s\n";
  const std::string url = std::string("s3://") + kBucket + "/orbax";
  const std::chrono::milliseconds latency(latency_ms);
  ForwardingProxy proxy(server.endpoint(), {latency, {}});
  const double latency_s = latency_ms / 1000.0;

  // The chain of one checkpoint alone: what the latency adds to its import,
  // over the latency (the import without it takes the process start-up and
  // the server's own time).
  const std::string one = url + "/" + tree.runs[0].name + "/" + tree.runs[0].step_folder(0);
  proxy.set_options({});
  const auto alone_fast = import_through(proxy, (dir.path() / "one-fast.db").string(), one, {1, 64});
  proxy.set_options({latency, {}});
  const auto alone = import_through(proxy, (dir.path() / "one.db").string(), one, {1, 64});
  if (alone.exit_code != 0 || alone_fast.exit_code != 0) {
    std::cerr << alone.err << "bench_s3_import: the import of " << one << " failed\n";
    return 1;
  }
  const long depth =
      latency_ms > 0 ? std::max(1L, std::lround((alone.seconds - alone_fast.seconds) / latency_s)) : 0;

  std::cout << "ckptcat import " << url << " through a proxy adding " << latency_ms << " ms per request: "
            << with_commas(checkpoints) << " checkpoints x " << with_commas(leaves)
            << " leaves (ckptcat-gen orbax: OCDBT, 2 processes), " << with_commas(leaf_count) << " leaves\n"
            << "one checkpoint alone: " << alone.http_requests << " requests, " << fixed(alone.seconds, 3)
            << " s (" << fixed(alone_fast.seconds, 3) << " s without the latency) = a chain of " << depth
            << " dependent requests\n\n";
  std::printf("%-14s %9s %9s %9s %8s %8s %6s %11s %9s\n", "readers x", "requests", "GETs", "bytes", "import",
              "bound", "ratio", "leaves/s", "in flight");
  std::printf("%-14s %9s %9s %9s %8s %8s %6s %11s %9s\n", "in flight", "/ckpt", "/ckpt", "/leaf", "s", "s", "",
              "", "seen");
  int status = 0;
  std::string last_db;
  std::string targets;
  for (size_t i = 0; i < configs.size(); ++i) {
    const ReaderConfig& config = configs[i];
    last_db = (dir.path() / ("import-" + std::to_string(i) + ".db")).string();
    const auto f = import_through(proxy, last_db, url, config);
    if (f.exit_code != 0) {
      std::cerr << f.err << "bench_s3_import: the import failed (" << config.name() << ")\n";
      status = 1;
    }
    const double bound =
        latency_s * static_cast<double>(depth) * std::max(1.0, double(checkpoints) / config.total());
    std::printf("%-14s %9s %9s %9s %8s %8s %6s %11s %9ld\n", config.name().c_str(),
                fixed(double(f.http_requests) / checkpoints, 1).c_str(), fixed(double(f.gets) / checkpoints, 1).c_str(),
                fixed(double(f.bytes) / leaf_count, 1).c_str(), fixed(f.seconds, 2).c_str(),
                fixed(bound, 2).c_str(), fixed(f.seconds / bound, 1).c_str(),
                with_commas(std::lround(leaf_count / f.seconds)).c_str(), f.max_in_flight);
    targets += "  " + config.name() + ": within 2x of the bound: " + (f.seconds <= 2 * bound ? "yes" : "no") +
               " (" + fixed(f.seconds / bound, 1) + "x)";
    if (config.total() == 64)
      targets += "; >= 100,000 leaves/s at 64 in flight: " +
                 std::string(leaf_count / f.seconds >= 100'000 ? "yes" : "no");
    targets += "\n";
  }

  // Nothing changed: the re-import must cost listings only.
  const auto noop = import_through(proxy, last_db, url, configs.back());
  const bool listings_only = noop.exit_code == 0 && noop.gets == 0 && noop.heads == 0 && noop.listings > 0;
  std::cout << "\nno-op re-import (" << configs.back().name() << "): " << noop.listings << " listings, "
            << noop.heads << " HEADs, " << noop.gets << " GETs, " << fixed(noop.seconds, 2) << " s\n";
  // An object read on a no-op re-import is a regression; HEADs miss the target.
  if (noop.exit_code != 0 || noop.gets != 0) {
    std::cerr << noop.err << "bench_s3_import: the no-op re-import read objects\n";
    status = 1;
  }
  std::cout << "targets:\n" << targets << "  no-op re-import listings only: " << (listings_only ? "yes" : "no")
            << " (" << noop.gets << " GETs, " << noop.heads << " HEADs)\n";
  return status;
}
