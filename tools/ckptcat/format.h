// Human output: numbers with thousands separators, byte sizes in binary units,
// UTC timestamps, and tables with aligned columns.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace ckptcat::cli {

std::string with_commas(uint64_t n);                // 1234567 -> "1,234,567"
std::string human_bytes(uint64_t bytes);            // 1536 -> "1.5 KiB", 12 -> "12 B"
std::string iso_time(int64_t nsecs_since_epoch);    // "2026-05-14T00:25:40Z"
std::string seconds_text(double seconds);           // "0.42 s", "12.3 s"

// Parses a byte count: "1024", "4K", "1.5MiB", "2GB" (binary multiples).
// Throws UsageError.
uint64_t parse_bytes(const std::string& text);

// Rows of cells printed with columns padded to the widest cell; columns
// marked numeric are right-aligned. The last column is never padded.
class Table {
 public:
  explicit Table(std::vector<std::string> header, std::vector<bool> numeric = {});
  void add(std::vector<std::string> row);
  bool empty() const { return rows_.empty(); }
  void print(std::ostream& out, const std::string& indent = "") const;

 private:
  std::vector<std::string> header_;
  std::vector<bool> numeric_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace ckptcat::cli
