# Every dependency comes from Debian's packages (see scripts/setup).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(Eigen3 3.3 REQUIRED NO_MODULE)
find_package(OpenSSL REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
pkg_check_modules(XXHASH REQUIRED libxxhash)

# libphonenumber ships no CMake config on Debian: find the library and headers.
find_library(PHONENUMBER_LIBRARY NAMES phonenumber REQUIRED)
find_path(PHONENUMBER_INCLUDE_DIR phonenumbers/phonenumberutil.h REQUIRED)
add_library(cdpcore_phonenumber INTERFACE)
target_link_libraries(cdpcore_phonenumber INTERFACE ${PHONENUMBER_LIBRARY})
target_include_directories(cdpcore_phonenumber SYSTEM INTERFACE ${PHONENUMBER_INCLUDE_DIR})

# xxHash is used header-only (XXH_INLINE_ALL): its headers, not its library.
add_library(cdpcore_xxhash INTERFACE)
target_include_directories(cdpcore_xxhash SYSTEM INTERFACE ${XXHASH_INCLUDE_DIRS})

# Private: none of these appear in the public headers. Header-only ones
# (Eigen, nlohmann_json, xxHash) add no link dependency.
set(CDPCORE_PRIVATE_DEPS
  SQLite::SQLite3 Eigen3::Eigen OpenSSL::Crypto
  nlohmann_json::nlohmann_json cdpcore_xxhash cdpcore_phonenumber Threads::Threads)
