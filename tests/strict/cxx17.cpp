// Compiled with -std=c++17 by check-compile-error.cmake, which expects exactly
// one error: "multishot needs C++20 with coroutines".
#include <multishot.hpp>

int main() { return 0; }
