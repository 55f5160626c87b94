#include <cdpcore/cdpcore.hpp>
#include <iostream>

int main() {
  auto ws = cdpcore::Workspace::open(":memory:");
  try {
    cdpcore::TimeZone::load("Not/AZone");
    return 1;
  } catch (const cdpcore::NotFound& e) {  // the error hierarchy, by type
    std::cout << "consumer_cxx: cdpcore " << cdpcore::version() << ", " << e.what() << "\n";
  }
  return ws->schema_version("workspace") == 1 ? 0 : 1;
}
