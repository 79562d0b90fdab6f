# A mistake that the header rejects at compile time: compiles SOURCE with CXX,
# FLAGS (joined by '|') and -std=STD (default c++20) against INCLUDE_DIR, and
# passes only if the compile fails with output matching EXPECT (a regular
# expression: the header's message naming the mistake) and, if ERRORS is
# given, with exactly that many errors. Unless CONTROL is OFF it first
# compiles SOURCE with -DMULTISHOT_TEST_VALID (the source without its
# mistake), which must succeed.
#
#   cmake -D CXX=... -D "FLAGS=-m32|-O2" -D INCLUDE_DIR=... -D SOURCE=... -D "EXPECT=..."
#         [-D STD=c++17] [-D CONTROL=OFF] [-D ERRORS=1] -P check-compile-error.cmake
string(REPLACE "|" ";" FLAGS "${FLAGS}")
if(NOT DEFINED STD)
  set(STD c++20)
endif()
set(variants misuse)
if(NOT DEFINED CONTROL OR CONTROL)
  set(variants control misuse)
endif()
foreach(variant IN LISTS variants)
  set(define)
  if(variant STREQUAL "control")
    set(define -DMULTISHOT_TEST_VALID)
  endif()
  execute_process(
    COMMAND "${CXX}" ${FLAGS} -std=${STD} -fsyntax-only ${define} "-I${INCLUDE_DIR}" "${SOURCE}"
    RESULT_VARIABLE result
    OUTPUT_VARIABLE output
    ERROR_VARIABLE output)
  message("${variant}: ${CXX} ${FLAGS} -std=${STD} -fsyntax-only ${define} (exit: ${result}):\n${output}")
  if(variant STREQUAL "control" AND NOT result EQUAL 0)
    message(FATAL_ERROR "the control (-DMULTISHOT_TEST_VALID) did not compile")
  endif()
endforeach()
if(result EQUAL 0)
  message(FATAL_ERROR "the mistake compiled: expected an error matching \"${EXPECT}\"")
endif()
if(NOT output MATCHES "${EXPECT}")
  message(FATAL_ERROR "the compile failed without a message matching \"${EXPECT}\"")
endif()
if(DEFINED ERRORS)
  string(REGEX MATCHALL "error:" errors "${output}")
  list(LENGTH errors error_count)
  if(NOT error_count EQUAL ERRORS)
    message(FATAL_ERROR "expected ${ERRORS} error(s), got ${error_count}")
  endif()
endif()
message("ok: rejected with \"${EXPECT}\"")
