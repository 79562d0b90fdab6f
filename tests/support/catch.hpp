// Includes Catch2's assertion macros, whichever major version is installed:
// v2 (Debian 12) ships one header, v3 split it. CMake defines
// MULTISHOT_CATCH2_V3 when it found v3. Also teaches Catch to print a
// multishot::RecvResult in failure messages.
#pragma once

#if defined(MULTISHOT_CATCH2_V3)
#include <catch2/catch_test_macros.hpp>
#else
#include <catch2/catch.hpp>
#endif

#include <multishot.hpp>

#include <string>

namespace Catch {

template <class T>
struct StringMaker<multishot::RecvResult<T>> {
    static std::string convert(const multishot::RecvResult<T>& result) {
        if (!result) return "error: " + std::string(multishot::to_string(result.error()));
        return "value: " + StringMaker<T>::convert(*result);
    }
};

template <>
struct StringMaker<multishot::RecvResult<void>> {
    static std::string convert(const multishot::RecvResult<void>& result) {
        if (!result) return "error: " + std::string(multishot::to_string(result.error()));
        return "sent";
    }
};

}  // namespace Catch
