# A misuse that the header rejects at compile time: compiles SOURCE with CXX,
# FLAGS (joined by '|') and -std=c++20 against INCLUDE_DIR twice. With
# -DMULTISHOT_TEST_VALID (the control: the source without its misuse) the
# compile must succeed; without it, it must fail with output matching EXPECT
# (a regular expression), the header's message naming the mistake.
#
#   cmake -D CXX=... -D "FLAGS=-m32|-O2" -D INCLUDE_DIR=... -D SOURCE=... -D "EXPECT=..."
#         -P check-compile-error.cmake
string(REPLACE "|" ";" FLAGS "${FLAGS}")
foreach(variant IN ITEMS control misuse)
  set(define)
  if(variant STREQUAL "control")
    set(define -DMULTISHOT_TEST_VALID)
  endif()
  execute_process(
    COMMAND "${CXX}" ${FLAGS} -std=c++20 -fsyntax-only ${define} "-I${INCLUDE_DIR}" "${SOURCE}"
    RESULT_VARIABLE result
    OUTPUT_VARIABLE output
    ERROR_VARIABLE output)
  message("${variant}: ${CXX} ${FLAGS} -std=c++20 -fsyntax-only ${define} (exit: ${result}):\n${output}")
  if(variant STREQUAL "control" AND NOT result EQUAL 0)
    message(FATAL_ERROR "the control (-DMULTISHOT_TEST_VALID) did not compile")
  endif()
endforeach()
if(result EQUAL 0)
  message(FATAL_ERROR "the misuse compiled: expected an error matching \"${EXPECT}\"")
endif()
if(NOT output MATCHES "${EXPECT}")
  message(FATAL_ERROR "the compile failed without a message matching \"${EXPECT}\"")
endif()
message("ok: rejected with \"${EXPECT}\"")
