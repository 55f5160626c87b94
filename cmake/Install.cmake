include(CMakePackageConfigHelpers)

# The installed static library needs its private dependencies at link time;
# Debian installs them where the linker looks, so plain names suffice.
target_link_libraries(cdpcore_static INTERFACE
  $<INSTALL_INTERFACE:sqlite3;crypto;phonenumber;Threads::Threads>)

# Everything here is the "dev" component; the Python wheel installs only the
# "python" component (see pyproject.toml), so one build tree can serve both.
install(TARGETS cdpcore_shared cdpcore_static EXPORT cdpcoreTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT dev
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/cdpcore DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev
  FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp")
install(FILES ${PROJECT_BINARY_DIR}/include/cdpcore/c/version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/cdpcore/c COMPONENT dev)
install(EXPORT cdpcoreTargets NAMESPACE cdpcore::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cdpcore COMPONENT dev)

configure_package_config_file(cmake/cdpcoreConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cdpcoreConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cdpcore)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cdpcoreConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cdpcoreConfig.cmake ${PROJECT_BINARY_DIR}/cdpcoreConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cdpcore COMPONENT dev)

configure_file(cmake/cdpcore.pc.in ${PROJECT_BINARY_DIR}/cdpcore.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/cdpcore.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
