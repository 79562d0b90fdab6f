// The header's version macros agree with the CMake project version, which
// tests/version/CMakeLists.txt passes as MULTISHOT_CMAKE_VERSION_*.
// Exit status 0 if they do; otherwise 1, after printing what differs.
#include <multishot.hpp>

#include <cstdio>

#if !defined(MULTISHOT_VERSION_MAJOR) || !defined(MULTISHOT_VERSION_MINOR) || \
    !defined(MULTISHOT_VERSION_PATCH) || !defined(MULTISHOT_VERSION)
#error "multishot.hpp must define MULTISHOT_VERSION_MAJOR, _MINOR, _PATCH and MULTISHOT_VERSION"
#endif

// The preprocessor sees the same encoding (a consumer gates code with #if).
#if MULTISHOT_VERSION == \
    MULTISHOT_VERSION_MAJOR * 10000 + MULTISHOT_VERSION_MINOR * 100 + MULTISHOT_VERSION_PATCH
constexpr bool encoded_in_preprocessor = true;
#else
constexpr bool encoded_in_preprocessor = false;
#endif

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
  if (!ok) {
    std::printf("FAILED: %s\n", what);
    ++failures;
  }
}

}  // namespace

int main() {
  std::printf("multishot.hpp: %d.%d.%d, MULTISHOT_VERSION %d\n", MULTISHOT_VERSION_MAJOR,
              MULTISHOT_VERSION_MINOR, MULTISHOT_VERSION_PATCH, MULTISHOT_VERSION);
  std::printf("CMake project: %d.%d.%d\n", MULTISHOT_CMAKE_VERSION_MAJOR,
              MULTISHOT_CMAKE_VERSION_MINOR, MULTISHOT_CMAKE_VERSION_PATCH);

  expect(MULTISHOT_VERSION_MAJOR == MULTISHOT_CMAKE_VERSION_MAJOR,
         "MULTISHOT_VERSION_MAJOR equals the CMake project's major version");
  expect(MULTISHOT_VERSION_MINOR == MULTISHOT_CMAKE_VERSION_MINOR,
         "MULTISHOT_VERSION_MINOR equals the CMake project's minor version");
  expect(MULTISHOT_VERSION_PATCH == MULTISHOT_CMAKE_VERSION_PATCH,
         "MULTISHOT_VERSION_PATCH equals the CMake project's patch version");
  // The encoding is unambiguous only while MINOR and PATCH have two digits.
  expect(MULTISHOT_VERSION_MAJOR >= 0, "MULTISHOT_VERSION_MAJOR >= 0");
  expect(MULTISHOT_VERSION_MINOR >= 0 && MULTISHOT_VERSION_MINOR <= 99,
         "MULTISHOT_VERSION_MINOR is 0..99");
  expect(MULTISHOT_VERSION_PATCH >= 0 && MULTISHOT_VERSION_PATCH <= 99,
         "MULTISHOT_VERSION_PATCH is 0..99");
  expect(MULTISHOT_VERSION == MULTISHOT_VERSION_MAJOR * 10000 + MULTISHOT_VERSION_MINOR * 100 +
                                  MULTISHOT_VERSION_PATCH,
         "MULTISHOT_VERSION is MAJOR * 10000 + MINOR * 100 + PATCH");
  expect(encoded_in_preprocessor, "the same holds inside #if");

  if (failures != 0) {
    std::printf("%d check(s) failed: keep project(multishot VERSION ...) in CMakeLists.txt and "
                "the MULTISHOT_VERSION_* macros at the top of include/multishot.hpp equal\n",
                failures);
    return 1;
  }
  std::printf("header and CMake project agree\n");
  return 0;
}
