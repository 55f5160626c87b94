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

# Component boundaries, enforced by the compiler.
#
# A component's sources see the public headers (include/), their own folder
# (as "<name>/..."), and of every other component only the headers it declares
# as its INTERFACE, and only if it is a declared dependency. Each component
# gets an include root of its own under the build tree, holding a link to its
# own folder and one link per interface header of its dependencies (the
# closure: an interface header may include its own dependencies' interfaces).
# Including anything else of another component's folder is "file not found";
# tests/architecture proves it. Quote includes never climb out of a folder
# ("../"): tests/architecture checks that too.
set(CDPCORE_ROOTS_DIR ${PROJECT_BINARY_DIR}/component_roots)

# cdpcore_component(<name> [DEPENDS <component>...] [INTERFACE <header>...])
# Defines object library cdpcore_<name> from src/<name>/*.cpp. DEPENDS lists
# the components whose headers it includes; INTERFACE the headers of
# src/<name>/ that dependents may include (everything else stays private).
function(cdpcore_component name)
  cmake_parse_arguments(ARG "" "" "DEPENDS;INTERFACE" ${ARGN})
  file(GLOB_RECURSE _srcs CONFIGURE_DEPENDS
       ${PROJECT_SOURCE_DIR}/src/${name}/*.cpp ${PROJECT_SOURCE_DIR}/src/${name}/*.c)
  if(NOT _srcs)
    set(_srcs ${PROJECT_SOURCE_DIR}/cmake/empty.cpp)
  endif()
  foreach(h IN LISTS ARG_INTERFACE)
    if(NOT EXISTS ${PROJECT_SOURCE_DIR}/src/${name}/${h})
      message(FATAL_ERROR "component ${name}: interface header src/${name}/${h} does not exist")
    endif()
  endforeach()
  set(CDPCORE_INTERFACE_${name} ${ARG_INTERFACE} PARENT_SCOPE)

  set(_closure ${name})
  foreach(d IN LISTS ARG_DEPENDS)
    if(NOT DEFINED CDPCORE_DEPS_${d})
      message(FATAL_ERROR "component ${name} depends on ${d}, which is not declared before it")
    endif()
    list(APPEND _closure ${CDPCORE_DEPS_${d}})
  endforeach()
  list(REMOVE_DUPLICATES _closure)
  set(CDPCORE_DEPS_${name} ${_closure} PARENT_SCOPE)

  # The include root: src/<name> whole, and the interfaces of the closure.
  set(_root ${CDPCORE_ROOTS_DIR}/${name})
  file(REMOVE_RECURSE ${_root})
  file(MAKE_DIRECTORY ${_root})
  file(CREATE_LINK ${PROJECT_SOURCE_DIR}/src/${name} ${_root}/${name} SYMBOLIC)
  foreach(d IN LISTS _closure)
    if(d STREQUAL name)
      continue()
    endif()
    foreach(h IN LISTS CDPCORE_INTERFACE_${d})
      get_filename_component(_dir ${_root}/${d}/${h} DIRECTORY)
      file(MAKE_DIRECTORY ${_dir})
      file(CREATE_LINK ${PROJECT_SOURCE_DIR}/src/${d}/${h} ${_root}/${d}/${h} SYMBOLIC)
    endforeach()
  endforeach()

  add_library(cdpcore_${name} OBJECT ${_srcs})
  target_include_directories(cdpcore_${name}
    PUBLIC ${PROJECT_SOURCE_DIR}/include ${PROJECT_BINARY_DIR}/include
    PRIVATE ${_root})
  target_compile_definitions(cdpcore_${name} PRIVATE CDPCORE_BUILDING)
  target_compile_options(cdpcore_${name} PRIVATE ${CDPCORE_WARNINGS})
  target_link_libraries(cdpcore_${name} PRIVATE ${CDPCORE_PRIVATE_DEPS})
  set(_all ${CDPCORE_COMPONENTS} ${name})
  set(CDPCORE_COMPONENTS ${_all} PARENT_SCOPE)
endfunction()

# cdpcore_link_components(<target> <component>... [SEES <component>]): links
# the object files of the named components and of everything they depend on
# into <target> (a test, a benchmark, the Python module). The target sees the
# public headers; with SEES, also that component's include root (white-box
# tests and benchmarks of one component).
function(cdpcore_link_components target)
  cmake_parse_arguments(ARG "" "SEES" "" ${ARGN})
  set(_objs "")
  foreach(c IN LISTS ARG_UNPARSED_ARGUMENTS)
    foreach(d IN LISTS CDPCORE_DEPS_${c})
      list(APPEND _objs ${d})
    endforeach()
  endforeach()
  list(REMOVE_DUPLICATES _objs)
  foreach(d IN LISTS _objs)
    target_sources(${target} PRIVATE $<TARGET_OBJECTS:cdpcore_${d}>)
    target_include_directories(${target} PRIVATE $<TARGET_PROPERTY:cdpcore_${d},INTERFACE_INCLUDE_DIRECTORIES>)
  endforeach()
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_BINARY_DIR}/include)
  if(ARG_SEES)
    target_include_directories(${target} PRIVATE ${CDPCORE_ROOTS_DIR}/${ARG_SEES})
  endif()
  target_compile_definitions(${target} PRIVATE CDPCORE_STATIC_DEFINE)
  target_link_libraries(${target} PRIVATE ${CDPCORE_PRIVATE_DEPS})
endfunction()
