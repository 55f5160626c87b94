# Every dependency comes from Debian's packages (see scripts/setup).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(fmt REQUIRED)
find_package(Eigen3 3.3 REQUIRED NO_MODULE)
find_package(roaring REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)

# libphonenumber ships no CMake config on Debian: find the library and headers.
find_library(PHONENUMBER_LIBRARY NAMES phonenumber REQUIRED)
find_path(PHONENUMBER_INCLUDE_DIR phonenumbers/phonenumberutil.h REQUIRED)
add_library(cdpcore_phonenumber INTERFACE)
target_link_libraries(cdpcore_phonenumber INTERFACE ${PHONENUMBER_LIBRARY})
target_include_directories(cdpcore_phonenumber SYSTEM INTERFACE ${PHONENUMBER_INCLUDE_DIR})

# Private: none of these appear in the public headers.
set(CDPCORE_PRIVATE_DEPS
  SQLite::SQLite3 fmt::fmt Eigen3::Eigen roaring::roaring OpenSSL::Crypto
  nlohmann_json::nlohmann_json PkgConfig::XXHASH cdpcore_phonenumber Threads::Threads)
