# Configures, builds and runs the consumer project against the installed copy.
file(REMOVE_RECURSE "${BUILD_DIR}")
execute_process(
  COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${BUILD_DIR}"
          "-DCMAKE_PREFIX_PATH=${PREFIX}" "-DCMAKE_CXX_COMPILER=${CXX}"
          "-DWITH_ASIO=${WITH_ASIO}" "-DWITH_BOOST_ASIO=${WITH_BOOST_ASIO}"
  COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${BUILD_DIR}" COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND "${BUILD_DIR}/consumer" COMMAND_ERROR_IS_FATAL ANY)
if(WITH_ASIO)
  execute_process(COMMAND "${BUILD_DIR}/consumer_asio" COMMAND_ERROR_IS_FATAL ANY)
endif()
if(WITH_BOOST_ASIO)
  execute_process(COMMAND "${BUILD_DIR}/consumer_boost_asio" COMMAND_ERROR_IS_FATAL ANY)
endif()
