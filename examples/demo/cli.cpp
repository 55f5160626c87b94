// The demo's command line.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "demo.hpp"

namespace demo {

void usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s --workspace PATH [--persons N] [--seed S]\n", argv0);
}

bool parse_args(int argc, char** argv, DemoContext& c) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "cdpcore_demo: %s needs a value\n", a.c_str());
        return nullptr;
      }
      return argv[++i];
    };
    auto number = [&](const char* v, uint64_t max, uint64_t& out) {
      char* end = nullptr;
      errno = 0;
      const unsigned long long n = v ? std::strtoull(v, &end, 10) : 0;
      if (!v || *v == '\0' || *end != '\0' || errno || n > max || *v == '-') {
        std::fprintf(stderr, "cdpcore_demo: %s: not a number in range: %s\n", a.c_str(), v ? v : "");
        return false;
      }
      out = n;
      return true;
    };
    if (a == "--workspace") {
      const char* v = value();
      if (!v) return false;
      c.workspace_path = v;
    } else if (a == "--persons") {
      uint64_t n = 0;
      if (!number(value(), 50'000'000, n) || n == 0) return false;
      c.persons = static_cast<uint32_t>(n);
    } else if (a == "--seed") {
      if (!number(value(), UINT64_MAX, c.seed)) return false;
    } else if (a == "-h" || a == "--help") {
      usage(argv[0]);
      std::exit(0);
    } else {
      std::fprintf(stderr, "cdpcore_demo: unknown argument %s\n", a.c_str());
      return false;
    }
  }
  if (c.workspace_path.empty()) {
    std::fprintf(stderr, "cdpcore_demo: --workspace is required\n");
    return false;
  }
  return true;
}

}  // namespace demo
