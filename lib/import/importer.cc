// The import pipeline (ckptcat/importer.h).
//
// Threads: `jobs` readers claim checkpoints by index, fingerprint them and read
// the changed ones; the calling thread is the only writer, so the Catalog is
// used by one thread. Each reader pushes exactly one message per claimed
// checkpoint and a last "finished" message; the writer pops until every reader
// has finished, which also drains the queue if storing fails midway.
#include "ckptcat/importer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <map>
#include <mutex>
#include <new>
#include <optional>
#include <set>
#include <thread>

#include "bounded_queue.h"
#include "ckptcat/error.h"
#include "ckptcat/leaf_fields.h"

namespace ckptcat {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Message {
  enum class Kind { kUnchanged, kRead, kFailed, kReaderFinished };
  Kind kind = Kind::kReaderFinished;
  size_t index = 0;  // into the discovered locations
  unsigned reader = 0;  // the thread that read it
  std::string fingerprint;
  std::optional<CheckpointMetadata> checkpoint;
  std::string error_file;
  std::string error_message;
};

// A problem tagged with the position of its checkpoint, for ordering.
struct OrderedProblem {
  size_t index = 0;
  ImportProblem problem;
};

bool is_error(Problem::Severity s) { return s == Problem::Severity::kError; }

// The problems a read recorded: the same ones the catalog lists in import_errors.
void collect_problems(const CheckpointMetadata& cp, size_t index,
                      std::vector<OrderedProblem>& out) {
  for (const auto& p : cp.problems)
    out.push_back({index, {p.severity, cp.directory, "", "", p.file, p.message}});
  for (const auto& item : cp.items) {
    if (item.error)
      out.push_back({index, {Problem::Severity::kError, cp.directory, item.name, "",
                             item.directory, *item.error}});
    for (const auto& p : item.problems)
      out.push_back({index, {p.severity, cp.directory, item.name, "", p.file, p.message}});
    for (const auto& leaf : item.leaves)
      if (leaf.error)
        out.push_back({index, {Problem::Severity::kError, cp.directory, item.name, leaf.name,
                               item.directory, *leaf.error}});
  }
}

}  // namespace

uint64_t ImportSummary::error_count() const {
  return static_cast<uint64_t>(
      std::count_if(problems.begin(), problems.end(), [](const auto& p) { return is_error(p.severity); }));
}
uint64_t ImportSummary::warning_count() const { return problems.size() - error_count(); }

Importer::Importer(Catalog& catalog, ImportOptions options)
    : catalog_(catalog), options_(std::move(options)) {}

ImportSummary Importer::run(const std::vector<fs::path>& paths) {
  const auto start = Clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  ImportSummary summary;
  std::vector<OrderedProblem> problems;

  // Discovery. An item folder stands for its whole checkpoint: the catalog
  // keys checkpoints by folder, and a partial read would replace the whole.
  std::vector<std::string> bases;
  std::vector<orbax::CheckpointLocation> locations;
  std::set<fs::path> seen;
  for (const auto& path : paths) {
    const std::string base = normal_path(path.string());
    bases.push_back(base);
    try {
      auto found = orbax::discover(base, options_.discovery);
      for (const auto& p : found.problems)
        problems.push_back({0, {p.severity, base, "", "", p.file, p.message}});
      for (auto& loc : found.checkpoints) {
        loc.only_item.reset();
        if (seen.insert(loc.directory).second) locations.push_back(std::move(loc));
      }
    } catch (const Error& e) {
      problems.push_back(
          {0, {Problem::Severity::kError, base, "", "", e.file().empty() ? base : e.file(), e.message()}});
    }
  }
  summary.discovered = locations.size();

  std::map<std::string, std::string> stored;  // directory -> fingerprint
  for (const auto& c : catalog_.list_checkpoints()) stored.emplace(c.directory, c.fingerprint);

  // Readers.
  unsigned jobs = options_.jobs ? options_.jobs : std::thread::hardware_concurrency();
  jobs = std::max(1u, std::min<unsigned>(jobs, static_cast<unsigned>(std::max<size_t>(1, locations.size()))));
  import_detail::BoundedQueue<Message> queue(2 * jobs);
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  // Stored messages go back to the reader that built them, which reads its
  // next checkpoint over one of them (orbax::Reader reuses its strings and
  // leaves) and frees the rest: glibc's malloc recycles memory fastest in the
  // thread that allocated it, and a writer freeing a reader's thousands of
  // small objects per checkpoint made both threads contend for its arena.
  struct Spent {
    std::mutex mutex;
    std::vector<Message> messages;
  };
  std::vector<Spent> spent(jobs);
  auto read_one = [&](orbax::Reader& reader, unsigned reader_index, size_t index,
                      CheckpointMetadata& spare) {
    const auto& loc = locations[index];
    Message m;
    m.index = index;
    m.reader = reader_index;
    try {
      m.fingerprint = orbax::fingerprint(loc);
      const auto it = stored.find(loc.directory.string());
      if (!options_.force && it != stored.end() && it->second == m.fingerprint) {
        m.kind = Message::Kind::kUnchanged;
      } else {
        if (options_.reader) {
          m.checkpoint = options_.reader(loc);
        } else {
          reader.read_checkpoint(loc, spare);
          m.checkpoint = std::move(spare);
        }
        m.kind = Message::Kind::kRead;
      }
    } catch (const Error& e) {
      m.kind = Message::Kind::kFailed;
      m.error_file = e.file().empty() ? loc.directory.string() : e.file();
      m.error_message = e.message();
    } catch (const fs::filesystem_error& e) {
      // Its what() repeats the paths in brackets after a "filesystem error:" prefix.
      m.kind = Message::Kind::kFailed;
      m.error_file = e.path1().empty() ? loc.directory.string() : e.path1().string();
      m.error_message = e.code().message();
    } catch (const std::bad_alloc&) {
      m.kind = Message::Kind::kFailed;
      m.error_file = loc.directory.string();
      m.error_message = "out of memory";
    } catch (const std::exception& e) {
      // Not a ckptcat::Error: a bug in a reader, whose text helps report it.
      m.kind = Message::Kind::kFailed;
      m.error_file = loc.directory.string();
      m.error_message = std::string("internal error: ") + e.what();
    }
    return m;
  };
  std::vector<std::thread> readers;
  for (unsigned j = 0; j < jobs; ++j)
    readers.emplace_back([&, j] {
      orbax::Reader reader(options_.read);  // one per thread: it remembers parses
      std::vector<Message> returned;
      CheckpointMetadata spare;
      for (size_t i; !stop && (i = next++) < locations.size();) {
        {
          std::lock_guard lock(spent[j].mutex);
          returned.swap(spent[j].messages);
        }
        for (auto& r : returned)
          if (r.checkpoint) spare = std::move(*r.checkpoint);
        returned.clear();
        queue.push(read_one(reader, j, i, spare));
      }
      queue.push(Message{});
    });

  // The writer: this thread.
  ImportProgress progress;
  progress.total = locations.size();
  for (const auto& p : problems) progress.errors += is_error(p.problem.severity);
  std::exception_ptr failure;
  auto fail = [&](size_t index, const std::string& file, const std::string& message) {
    ++summary.failed;
    ++progress.errors;
    problems.push_back({index, {Problem::Severity::kError, locations[index].directory.string(),
                                "", "", file, message}});
  };
  auto store = [&](Message& m) {
    const std::string directory = locations[m.index].directory.string();
    switch (m.kind) {
      case Message::Kind::kUnchanged:
        ++summary.unchanged;
        break;
      case Message::Kind::kFailed:
        fail(m.index, m.error_file, "cannot read checkpoint: " + m.error_message);
        break;
      case Message::Kind::kRead: {
        try {
          // Forced: replaced in the same single transaction, so a failed
          // write keeps the old entry.
          IngestOptions ingest;
          ingest.force = options_.force;
          const auto result = catalog_.ingest(*m.checkpoint, m.fingerprint, ingest);
          switch (result.action) {
            case IngestAction::kInserted: ++summary.inserted; break;
            case IngestAction::kReplaced: ++summary.replaced; break;
            case IngestAction::kUnchanged: ++summary.unchanged; break;
          }
          summary.leaves += result.leaf_count;
          progress.leaves += result.leaf_count;
          const size_t before = problems.size();
          collect_problems(*m.checkpoint, m.index, problems);
          for (size_t i = before; i < problems.size(); ++i)
            progress.errors += is_error(problems[i].problem.severity);
        } catch (const Error& e) {
          fail(m.index, e.file().empty() ? directory : e.file(),
               "cannot store checkpoint: " + e.message());
        }
        break;
      }
      case Message::Kind::kReaderFinished:
        break;
    }
  };
  for (unsigned finished = 0; finished < jobs;) {
    auto m = queue.pop();
    if (!m || m->kind == Message::Kind::kReaderFinished) {
      ++finished;
      continue;
    }
    if (failure) continue;  // draining after a failure
    try {
      store(*m);
      ++progress.done;
      progress.seconds = elapsed();
      if (options_.progress) options_.progress(progress);
    } catch (...) {
      failure = std::current_exception();
      stop = true;
    }
    std::lock_guard lock(spent[m->reader].mutex);
    spent[m->reader].messages.push_back(std::move(*m));
  }
  for (auto& t : readers) t.join();
  if (failure) std::rethrow_exception(failure);

  if (options_.prune) {
    for (const auto& base : bases) {
      // Local folders only: prune_missing asks the file system what is gone.
      if (base.starts_with("s3://") || base.starts_with("gs://")) continue;
      for (auto& directory : catalog_.prune_missing(base))
        summary.pruned_directories.push_back(std::move(directory));
    }
    summary.pruned = summary.pruned_directories.size();
  }

  std::stable_sort(problems.begin(), problems.end(),
                   [](const auto& a, const auto& b) { return a.index < b.index; });
  for (auto& p : problems) summary.problems.push_back(std::move(p.problem));
  summary.seconds = elapsed();
  progress.seconds = summary.seconds;
  if (options_.progress) options_.progress(progress);
  return summary;
}

}  // namespace ckptcat
