# CHANGELOG.md has a section for the project version: a line starting
# "## <VERSION>" (e.g. "## 0.2.0 - unreleased"). Run with -DCHANGELOG=<path>
# -DVERSION=<project version>.
file(STRINGS "${CHANGELOG}" headings REGEX "^## ")
string(REPLACE "." "\\." version_regex "${VERSION}")
foreach(heading IN LISTS headings)
  if(heading MATCHES "^## ${version_regex}( |$)")
    message(STATUS "CHANGELOG.md: ${heading}")
    return()
  endif()
endforeach()
message(FATAL_ERROR "CHANGELOG.md has no section \"## ${VERSION}\" for the project version "
                    "(its sections: ${headings})")
