# Install rules and the CMake package: find_package(multishot CONFIG REQUIRED)
# then target_link_libraries(app PRIVATE multishot::multishot).
include(CMakePackageConfigHelpers)

set(MULTISHOT_CMAKE_DIR "${CMAKE_INSTALL_DATADIR}/cmake/multishot")

install(TARGETS multishot EXPORT multishot-targets)
install(FILES "${PROJECT_SOURCE_DIR}/include/multishot.hpp"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
# The asio adapters, beside it: #include <multishot/asio.hpp> (standalone
# asio) or <multishot/boost_asio.hpp> (Boost.Asio); both include
# multishot/detail/asio_impl.hpp.
install(FILES
  "${PROJECT_SOURCE_DIR}/include/multishot/asio.hpp"
  "${PROJECT_SOURCE_DIR}/include/multishot/boost_asio.hpp"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/multishot")
install(FILES "${PROJECT_SOURCE_DIR}/include/multishot/detail/asio_impl.hpp"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/multishot/detail")
install(EXPORT multishot-targets
        NAMESPACE multishot::
        DESTINATION "${MULTISHOT_CMAKE_DIR}")

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/multishot-config.cmake.in"
  "${PROJECT_BINARY_DIR}/multishot-config.cmake"
  INSTALL_DESTINATION "${MULTISHOT_CMAKE_DIR}")
# find_package(multishot X.Y): which installed versions satisfy a request.
# Below 1.0 a minor release may break the API (SemVer's 0.y.z), so only the
# same major.minor is compatible: a request for 0.2 takes 0.2.0 or any later
# 0.2.z, and refuses 0.1.z, 0.3.z and 1.y.z. From 1.0 on, the same major.
# (SameMajorVersion at 0.x would let 0.2.0 satisfy a request for 0.1.)
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(MULTISHOT_VERSION_COMPATIBILITY SameMinorVersion)
else()
  set(MULTISHOT_VERSION_COMPATIBILITY SameMajorVersion)
endif()
# A header-only library: the package fits any architecture.
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/multishot-config-version.cmake"
  COMPATIBILITY ${MULTISHOT_VERSION_COMPATIBILITY}
  ARCH_INDEPENDENT)
install(FILES
  "${PROJECT_BINARY_DIR}/multishot-config.cmake"
  "${PROJECT_BINARY_DIR}/multishot-config-version.cmake"
  DESTINATION "${MULTISHOT_CMAKE_DIR}")
install(FILES
  "${PROJECT_SOURCE_DIR}/LICENSE-MIT"
  "${PROJECT_SOURCE_DIR}/LICENSE-APACHE"
  DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/multishot")
