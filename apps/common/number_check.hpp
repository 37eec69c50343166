#pragma once
// A CLI11 check for numeric options with a plain message. CLI11's own PositiveNumber and
// NonNegativeNumber write their range as "0.000000 to 17976931348623157081..." (300 digits) and
// say "not in range" for a word too; this says "--n: must be a number > 0 (got 'abc')".

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdlib>
#include <string>

namespace rankpool_apps {

/// Accepts a finite number >= 0, or > 0 when `positive`.
inline CLI::Validator number_check(bool positive) {
  const char* what = positive ? "a number > 0" : "a number >= 0";
  return CLI::Validator(
      [positive, what](std::string& v) -> std::string {
        char* end = nullptr;
        double d = std::strtod(v.c_str(), &end);
        if (!v.empty() && *end == '\0' && std::isfinite(d) && (positive ? d > 0 : d >= 0)) {
          return {};
        }
        return std::string("must be ") + what + " (got '" + v + "')";
      },
      positive ? "NUMBER>0" : "NUMBER>=0");
}

}  // namespace rankpool_apps
