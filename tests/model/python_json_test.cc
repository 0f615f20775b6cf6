#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "ckptcat/error.h"
#include "ckptcat/python_json.h"

using namespace ckptcat;

static std::string str(std::string_view s) {
  std::string out;
  pyjson::append_string(out, s);
  return out;
}

static std::string dbl(double d) {
  std::string out;
  pyjson::append_double(out, d);
  return out;
}

TEST_CASE("strings escape like json.dumps with ensure_ascii") {
  // json.dumps('a\x7fb/c\x01é😀') from orbax-format.md §4.4
  CHECK(str("a\x7f" "b/c\x01\xc3\xa9\xf0\x9f\x98\x80") ==
        R"("a\u007fb/c\u0001\u00e9\ud83d\ude00")");
  CHECK(str("q\"uo\\te\t/x") == R"("q\"uo\\te\t/x")");
  CHECK(str("\n\r\b\f") == R"("\n\r\b\f")");
  CHECK(str("\x0b") == R"("\u000b")");
  CHECK(str("\xe2\x82\xac") == R"("\u20ac")");         // U+20AC
  CHECK(str("\xef\xbf\xbf") == R"("\uffff")");         // U+FFFF, no surrogates
  CHECK(str("\xf4\x8f\xbf\xbf") == R"("\udbff\udfff")");  // U+10FFFF
  CHECK(str("") == R"("")");
  CHECK(str(std::string_view("a\0b", 3)) == R"("a\u0000b")");
}

TEST_CASE("invalid UTF-8 is refused, not passed through") {
  std::string out;
  CHECK_THROWS_AS(pyjson::append_string(out, "\xff"), ckptcat::Error);
  CHECK_THROWS_AS(pyjson::append_string(out, "\xc3"), ckptcat::Error);          // truncated
  CHECK_THROWS_AS(pyjson::append_string(out, "\xc0\xaf"), ckptcat::Error);      // overlong
  CHECK_THROWS_AS(pyjson::append_string(out, "\xed\xa0\x80"), ckptcat::Error);  // surrogate
  CHECK_THROWS_AS(pyjson::append_string(out, "\xf4\x90\x80\x80"), ckptcat::Error);
}

TEST_CASE("doubles print like Python repr") {
  CHECK(dbl(0.1) == "0.1");
  CHECK(dbl(1e-5) == "1e-05");
  CHECK(dbl(1e16) == "1e+16");
  CHECK(dbl(100.0) == "100.0");
  CHECK(dbl(0.0) == "0.0");
  CHECK(dbl(-0.0) == "-0.0");
  CHECK(dbl(1.5) == "1.5");
  CHECK(dbl(0.0001) == "0.0001");
  CHECK(dbl(123456789012345.6) == "123456789012345.6");
  CHECK(dbl(1234567890123456.0) == "1234567890123456.0");
  CHECK(dbl(1.5e16) == "1.5e+16");
  CHECK(dbl(1e-7) == "1e-07");
  CHECK(dbl(1.2345e-10) == "1.2345e-10");
  CHECK(dbl(1e100) == "1e+100");
  CHECK(dbl(5e-324) == "5e-324");
  CHECK(dbl(std::numeric_limits<double>::quiet_NaN()) == "NaN");
  CHECK(dbl(INFINITY) == "Infinity");
  CHECK(dbl(-INFINITY) == "-Infinity");
}

TEST_CASE("writer uses Python's separators and keeps insertion order") {
  pyjson::Writer w;
  w.begin_object().key("z").value(int64_t{1}).key("a").begin_array().null().value(true)
      .value("x").end_array().key("e").begin_object().end_object().end_object();
  CHECK(w.str() == R"({"z": 1, "a": [null, true, "x"], "e": {}})");
}

TEST_CASE("dumps of an ordered document") {
  auto doc = nlohmann::ordered_json::parse(
      R"({"b":[1,2.5,{"c":null}],"a":"\u00e9","n":-3,"big":18446744073709551615})");
  CHECK(pyjson::dumps(doc) ==
        R"({"b": [1, 2.5, {"c": null}], "a": "\u00e9", "n": -3, "big": 18446744073709551615})");
}
