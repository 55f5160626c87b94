set(CDPCORE_COMPONENTS "")

set(CDPCORE_WARNINGS -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
if(CDPCORE_WERROR)
  list(APPEND CDPCORE_WARNINGS -Werror)
endif()
# GCC 12 reports -Wrestrict false positives inside libstdc++'s string code at
# -O3 (GCC bug 105329); fixed in GCC 13.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  list(APPEND CDPCORE_WARNINGS -Wno-restrict)
endif()

if(CDPCORE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# cdpcore_component(<name> [DEPENDS <component>...])
# Defines object library cdpcore_<name> from src/<name>/*.cpp and records the
# closure of its dependencies in CDPCORE_DEPS_<name> for tests to link.
function(cdpcore_component name)
  cmake_parse_arguments(ARG "" "" "DEPENDS" ${ARGN})
  file(GLOB_RECURSE _srcs CONFIGURE_DEPENDS
       ${PROJECT_SOURCE_DIR}/src/${name}/*.cpp ${PROJECT_SOURCE_DIR}/src/${name}/*.c)
  if(NOT _srcs)
    set(_srcs ${PROJECT_SOURCE_DIR}/cmake/empty.cpp)
  endif()
  add_library(cdpcore_${name} OBJECT ${_srcs})
  target_include_directories(cdpcore_${name}
    PUBLIC ${PROJECT_SOURCE_DIR}/include ${PROJECT_BINARY_DIR}/include
    PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_compile_definitions(cdpcore_${name} PRIVATE CDPCORE_BUILDING)
  target_compile_options(cdpcore_${name} PRIVATE ${CDPCORE_WARNINGS})
  target_link_libraries(cdpcore_${name} PRIVATE ${CDPCORE_PRIVATE_DEPS})
  set(_closure ${name})
  foreach(d IN LISTS ARG_DEPENDS)
    list(APPEND _closure ${CDPCORE_DEPS_${d}})
  endforeach()
  list(REMOVE_DUPLICATES _closure)
  set(CDPCORE_DEPS_${name} ${_closure} PARENT_SCOPE)
  set(_all ${CDPCORE_COMPONENTS} ${name})
  set(CDPCORE_COMPONENTS ${_all} PARENT_SCOPE)
endfunction()

# cdpcore_link_components(<target> <component>...): links the object files of
# the named components and of everything they depend on.
function(cdpcore_link_components target)
  set(_objs "")
  foreach(c IN LISTS ARGN)
    foreach(d IN LISTS CDPCORE_DEPS_${c})
      list(APPEND _objs ${d})
    endforeach()
  endforeach()
  list(REMOVE_DUPLICATES _objs)
  foreach(d IN LISTS _objs)
    target_sources(${target} PRIVATE $<TARGET_OBJECTS:cdpcore_${d}>)
  endforeach()
  target_include_directories(${target} PRIVATE
    ${PROJECT_SOURCE_DIR}/include ${PROJECT_BINARY_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_compile_definitions(${target} PRIVATE CDPCORE_STATIC_DEFINE)
  target_link_libraries(${target} PRIVATE ${CDPCORE_PRIVATE_DEPS})
endfunction()
