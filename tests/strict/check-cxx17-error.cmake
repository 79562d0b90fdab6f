# Compiles SOURCE with CXX, FLAGS (joined by '|') and -std=c++17 against INCLUDE_DIR
# and passes only if the compile fails with exactly one error, the header's
# "multishot needs C++20 with coroutines".
#
#   cmake -D CXX=... -D "FLAGS=-m32|-O2" -D INCLUDE_DIR=... -D SOURCE=... -P check-cxx17-error.cmake
string(REPLACE "|" ";" FLAGS "${FLAGS}")
execute_process(
  COMMAND "${CXX}" ${FLAGS} -std=c++17 -fsyntax-only "-I${INCLUDE_DIR}" "${SOURCE}"
  RESULT_VARIABLE result
  OUTPUT_VARIABLE output
  ERROR_VARIABLE output)
message("${CXX} ${FLAGS} -std=c++17 -fsyntax-only (exit: ${result}):\n${output}")
if(result EQUAL 0)
  message(FATAL_ERROR "multishot.hpp compiled under -std=c++17: expected an #error")
endif()
if(NOT output MATCHES "multishot needs C\\+\\+20 with coroutines")
  message(FATAL_ERROR "the compile failed without the message \"multishot needs C++20 with coroutines\"")
endif()
string(REGEX MATCHALL "error:" errors "${output}")
list(LENGTH errors error_count)
if(NOT error_count EQUAL 1)
  message(FATAL_ERROR "expected one error (the #error), got ${error_count}")
endif()
message("ok: one error, the #error naming C++20 with coroutines")
