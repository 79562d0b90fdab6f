# What the toolchain offers the project's own tests and examples, which skip
# what it lacks (the header decides for itself, and says so in its macros):
#
#   MULTISHOT_TEST_HAS_STOP_TOKEN  std::stop_token and std::jthread
#                                  (__cpp_lib_jthread; libc++ 16 has neither)
#   MULTISHOT_TEST_HAS_EXCEPTIONS  exceptions enabled (no -fno-exceptions)
#
# Both are checked with the flags of the build (CMAKE_CXX_FLAGS: -stdlib=libc++,
# -m32, -fno-exceptions...) in C++20.
include(CheckCXXSourceCompiles)

function(multishot_probe_toolchain)
  # In a function: the standard is set for these checks only.
  set(CMAKE_CXX_STANDARD 20)
  set(CMAKE_CXX_STANDARD_REQUIRED ON)
  set(CMAKE_CXX_EXTENSIONS OFF)
  check_cxx_source_compiles([[
#include <version>
#if !defined(__cpp_lib_jthread)
#error "no std::jthread / std::stop_token"
#endif
int main() { return 0; }
]] MULTISHOT_TEST_HAS_STOP_TOKEN)
  check_cxx_source_compiles([[
#if !defined(__cpp_exceptions)
#error "exceptions disabled"
#endif
int main() { return 0; }
]] MULTISHOT_TEST_HAS_EXCEPTIONS)
endfunction()

multishot_probe_toolchain()
foreach(probe IN ITEMS MULTISHOT_TEST_HAS_STOP_TOKEN MULTISHOT_TEST_HAS_EXCEPTIONS)
  if(${probe})
    set(${probe} ON)
  else()
    set(${probe} OFF)
  endif()
endforeach()
message(STATUS "multishot: tests with std::stop_token: ${MULTISHOT_TEST_HAS_STOP_TOKEN}, "
               "with exceptions: ${MULTISHOT_TEST_HAS_EXCEPTIONS}")
