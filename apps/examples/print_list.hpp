#pragma once
// Python-style printing for the examples, so that they print exactly what the Python tutorials
// print: py::print("Results:", v) shows `Results: [4, 16, 36, 64, 100]`.
//
//   py::repr(x)   what Python's repr() gives: 3, 2.5, 'text', True, None, [1, 2], (1, 'a')
//   py::str(x)    what Python's str() gives: as repr, except that a string is shown as is
//   py::print(a, b, ...)   Python's print(a, b, ...): str() of each, separated by spaces
//
// Floats follow Python's repr: the shortest digits that read back to the same double, in fixed
// notation between 1e-4 and 1e16 (with ".0" when integral), otherwise as 1e-05 / 1.5e+16.

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <list>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "rankpool/detail/callable.hpp"  // rankpool::None

namespace py {

inline std::string repr(bool b) {
  return b ? "True" : "False";
}
inline std::string repr(rankpool::None) {
  return "None";
}

/// Python's repr of a str: single quotes unless the text holds a single quote and no double one.
inline std::string repr(std::string_view s) {
  char quote = (s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos)
                   ? '"'
                   : '\'';
  std::string out(1, quote);
  for (char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c == quote) {
          out += '\\';
          out += c;
        } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += quote;
  return out;
}
inline std::string repr(const std::string& s) {
  return repr(std::string_view(s));
}
inline std::string repr(const char* s) {
  return repr(std::string_view(s));
}
inline std::string repr(char c) {
  return repr(std::string_view(&c, 1));
}

/// Python's repr of a float.
inline std::string repr(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buf[64];
  // Shortest round-trip digits, as d.ddde±XX.
  auto res = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  auto e = sci.find('e');
  int exponent = std::atoi(sci.c_str() + e + 1);
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits += c;
  }
  int point = exponent + 1;  // digits before the decimal point
  std::string out;
  if (point > -4 && point <= 16) {
    if (point <= 0) {
      out = "0." + std::string(static_cast<std::size_t>(-point), '0') + digits;
    } else if (static_cast<std::size_t>(point) >= digits.size()) {
      out = digits + std::string(static_cast<std::size_t>(point) - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, static_cast<std::size_t>(point)) + "." +
            digits.substr(static_cast<std::size_t>(point));
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp[16];
    std::snprintf(exp, sizeof exp, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    out += exp;
  }
  return sign + out;
}
inline std::string repr(float x) {
  return repr(static_cast<double>(x));
}

template <class T, std::enable_if_t<std::is_integral_v<T>, int> = 0>
std::string repr(T x) {
  return std::to_string(x);
}

template <class Range>
std::string repr_sequence(const Range& items, const char* open, const char* close);
template <class... T>
std::string repr(const std::tuple<T...>& t);
template <class A, class B>
std::string repr(const std::pair<A, B>& p);
template <class T, class A>
std::string repr(const std::vector<T, A>& v) {
  return repr_sequence(v, "[", "]");
}
template <class T, class A>
std::string repr(const std::list<T, A>& v) {
  return repr_sequence(v, "[", "]");
}
template <class T, class A>
std::string repr(const std::deque<T, A>& v) {
  return repr_sequence(v, "[", "]");
}
template <class T, std::size_t N>
std::string repr(const std::array<T, N>& v) {
  return repr_sequence(v, "[", "]");
}
/// A std::map shows as a Python dict: {1: 'a', 2: 'b'}.
template <class K, class V, class C, class A>
std::string repr(const std::map<K, V, C, A>& m) {
  std::string out = "{";
  for (auto it = m.begin(); it != m.end(); ++it) {
    if (it != m.begin()) out += ", ";
    out += repr(it->first) + ": " + repr(it->second);
  }
  return out + "}";
}

template <class Range>
std::string repr_sequence(const Range& items, const char* open, const char* close) {
  std::string out = open;
  bool first = true;
  for (const auto& item : items) {
    if (!first) out += ", ";
    first = false;
    out += repr(item);
  }
  return out + close;
}

/// A tuple shows as Python's: (1, 'a'), and (1,) for one element.
template <class... T>
std::string repr(const std::tuple<T...>& t) {
  std::string out = "(";
  std::apply(
      [&out](const auto&... items) {
        std::size_t i = 0;
        ((out += (i++ ? ", " : "") + repr(items)), ...);
      },
      t);
  if constexpr (sizeof...(T) == 1) out += ",";
  return out + ")";
}
template <class A, class B>
std::string repr(const std::pair<A, B>& p) {
  return "(" + repr(p.first) + ", " + repr(p.second) + ")";
}

/// Python's str(): a string as is, anything else as repr().
template <class T>
std::string str(const T& x) {
  if constexpr (std::is_same_v<T, char>) {
    return std::string(1, x);
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    return std::string(std::string_view(x));
  } else {
    return repr(x);
  }
}

/// Python's print(a, b, ...): str() of each argument, separated by spaces, then a newline.
template <class... T>
void print(const T&... items) {
  std::string line;
  std::size_t i = 0;
  ((line += (i++ ? " " : "") + str(items)), ...);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stdout);
}

}  // namespace py
