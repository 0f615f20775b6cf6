// SHARED_TEST_CASE: a doctest case that needs ../shared (shared_data.h). When
// the folder is absent the case is skipped on its own (doctest::skip), and the
// test program's main (doctest_main.cc) says so on a "SKIP:" line.
#pragma once

#include <doctest/doctest.h>

#include "shared_data.h"

#define SHARED_TEST_CASE(name) TEST_CASE(name * doctest::skip(!::ckptcat::testing::shared_available()))
