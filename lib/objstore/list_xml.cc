#include "list_xml.h"

#include <expat.h>

#include <charconv>
#include <climits>
#include <ctime>
#include <memory>
#include <type_traits>

#include "ckptcat/error.h"

namespace ckptcat::objstore {
namespace {

struct ParserDeleter {
  void operator()(XML_Parser parser) const { XML_ParserFree(parser); }
};
using ParserHandle = std::unique_ptr<std::remove_pointer_t<XML_Parser>, ParserDeleter>;

// Collects the text of elements by their path from the root ("A/B/C"), and
// calls back at the end of each element. S3 documents are small and flat, so
// this is all the structure the parsers need.
class ElementWalker {
 public:
  virtual ~ElementWalker() = default;
  // Parses the whole document; returns an error text, empty on success.
  std::string parse(std::string_view xml) {
    ParserHandle parser(XML_ParserCreate("UTF-8"));
    if (!parser) return "out of memory creating the XML parser";
    XML_SetUserData(parser.get(), this);
    XML_SetElementHandler(parser.get(), &ElementWalker::on_start, &ElementWalker::on_end);
    XML_SetCharacterDataHandler(parser.get(), &ElementWalker::on_text);
    // No DTDs: a listing never has one, and refusing them rules out entity
    // expansion tricks.
    XML_SetStartDoctypeDeclHandler(parser.get(), &ElementWalker::on_doctype);
    parser_ = parser.get();
    if (xml.size() > static_cast<size_t>(INT_MAX)) return "document too large";
    if (XML_Parse(parser.get(), xml.data(), static_cast<int>(xml.size()), XML_TRUE) !=
        XML_STATUS_OK) {
      if (!failure_.empty()) return failure_;
      return std::string("XML error at line ") +
             std::to_string(XML_GetCurrentLineNumber(parser.get())) + ": " +
             XML_ErrorString(XML_GetErrorCode(parser.get()));
    }
    return failure_;
  }

 protected:
  virtual void element_end(const std::string& path, const std::string& text) = 0;
  void fail(std::string why) {
    if (failure_.empty()) failure_ = std::move(why);
    XML_StopParser(parser_, XML_FALSE);
  }

 private:
  static void XMLCALL on_start(void* self_ptr, const XML_Char* name, const XML_Char**) {
    auto* self = static_cast<ElementWalker*>(self_ptr);
    self->ends_.push_back(self->path_.size());
    if (!self->path_.empty()) self->path_ += '/';
    self->path_ += name;
    self->text_.clear();
    if (self->ends_.size() > 16) self->fail("elements nested too deeply");
  }
  static void XMLCALL on_end(void* self_ptr, const XML_Char*) {
    auto* self = static_cast<ElementWalker*>(self_ptr);
    self->element_end(self->path_, self->text_);
    self->text_.clear();
    self->path_.resize(self->ends_.back());
    self->ends_.pop_back();
  }
  static void XMLCALL on_text(void* self_ptr, const XML_Char* text, int size) {
    auto* self = static_cast<ElementWalker*>(self_ptr);
    self->text_.append(text, static_cast<size_t>(size));
  }
  static void XMLCALL on_doctype(void* self_ptr, const XML_Char*, const XML_Char*,
                                 const XML_Char*, int) {
    static_cast<ElementWalker*>(self_ptr)->fail("a document type declaration is not allowed");
  }

  XML_Parser parser_ = nullptr;
  std::string path_, text_, failure_;
  std::vector<size_t> ends_;
};

std::optional<uint64_t> parse_unsigned(std::string_view text) {
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

class ListWalker : public ElementWalker {
 public:
  explicit ListWalker(ListPage& page) : page_(page) {}
  bool saw_root = false;

 protected:
  void element_end(const std::string& path, const std::string& text) override {
    static constexpr std::string_view kRoot = "ListBucketResult";
    if (path.compare(0, kRoot.size(), kRoot) != 0 ||
        (path.size() > kRoot.size() && path[kRoot.size()] != '/')) {
      fail("the root element is not ListBucketResult");
      return;
    }
    saw_root = true;
    const std::string_view field = std::string_view(path).substr(kRoot.size());
    if (field == "/Contents/Key") {
      current_.key = text;
    } else if (field == "/Contents/Size") {
      auto size = parse_unsigned(text);
      if (!size) return fail("object size is not a number: \"" + text + "\"");
      current_.size = *size;
    } else if (field == "/Contents/ETag") {
      current_.etag = text;
    } else if (field == "/Contents/LastModified") {
      auto ns = parse_iso8601_utc(text);
      if (!ns) return fail("LastModified is not an ISO 8601 time: \"" + text + "\"");
      current_.last_modified = text;
      current_.mtime_ns = *ns;
    } else if (field == "/Contents") {
      if (current_.key.empty()) return fail("a listed object has no Key");
      page_.objects.push_back(std::move(current_));
      current_ = {};
    } else if (field == "/CommonPrefixes/Prefix") {
      page_.common_prefixes.push_back(text);
    } else if (field == "/IsTruncated") {
      if (text != "true" && text != "false") return fail("IsTruncated is neither true nor false");
      page_.truncated = text == "true";
    } else if (field == "/NextContinuationToken") {
      page_.next_continuation_token = text;
    }
  }

 private:
  ListPage& page_;
  ListedObject current_;
};

class ErrorWalker : public ElementWalker {
 public:
  ErrorDocument document;
  bool is_error = false;

 protected:
  void element_end(const std::string& path, const std::string& text) override {
    if (path == "Error") is_error = true;
    else if (path == "Error/Code") document.code = text;
    else if (path == "Error/Message") document.message = text;
  }
};

}  // namespace

ListPage parse_list_objects_v2(std::string_view xml, const std::string& source) {
  ListPage page;
  ListWalker walker(page);
  std::string failure = walker.parse(xml);
  if (failure.empty() && !walker.saw_root) failure = "empty listing document";
  if (failure.empty() && page.truncated && page.next_continuation_token.empty())
    failure = "a truncated listing without NextContinuationToken";
  if (!failure.empty())
    throw Error(Error::Code::kCorruption, "bad ListObjectsV2 response: " + failure, source);
  return page;
}

std::optional<ErrorDocument> parse_error_document(std::string_view xml) {
  ErrorWalker walker;
  if (!walker.parse(xml).empty() || !walker.is_error) return std::nullopt;
  return walker.document;
}

std::optional<int64_t> parse_iso8601_utc(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction]Z
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' ||
      text[13] != ':' || text[16] != ':' || text.back() != 'Z')
    return std::nullopt;
  auto field = [&](size_t at, size_t size) { return parse_unsigned(text.substr(at, size)); };
  const auto year = field(0, 4), month = field(5, 2), day = field(8, 2), hour = field(11, 2),
             minute = field(14, 2), second = field(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || *month < 1 || *month > 12 ||
      *day < 1 || *day > 31 || *hour > 23 || *minute > 59 || *second > 60)
    return std::nullopt;
  int64_t nanos = 0;
  const std::string_view rest = text.substr(19, text.size() - 20);
  if (!rest.empty()) {
    if (rest[0] != '.' || rest.size() < 2 || rest.size() > 10) return std::nullopt;
    const auto digits = parse_unsigned(rest.substr(1));
    if (!digits) return std::nullopt;
    nanos = static_cast<int64_t>(*digits);
    for (size_t i = rest.size() - 1; i < 9; ++i) nanos *= 10;
  }
  // Days from the civil date (Howard Hinnant's algorithm).
  const int64_t y = static_cast<int64_t>(*year) - (*month <= 2 ? 1 : 0);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t m = static_cast<int64_t>(*month);
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + static_cast<int64_t>(*day) - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = era * 146097 + doe - 719468;
  const int64_t seconds = days * 86400 + static_cast<int64_t>(*hour) * 3600 +
                          static_cast<int64_t>(*minute) * 60 + static_cast<int64_t>(*second);
  return seconds * 1'000'000'000 + nanos;
}

}  // namespace ckptcat::objstore
