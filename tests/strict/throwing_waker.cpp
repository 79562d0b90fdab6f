// Compiled by check-compile-error.cmake: a Waker built from a wake function
// that is not noexcept must not compile, and the error must say why ("the
// wake function must be noexcept"). With MULTISHOT_TEST_VALID the function
// is noexcept and the file compiles (the control).
#include <multishot.hpp>

#if defined(MULTISHOT_TEST_VALID)
void wake(void*) noexcept {}
#else
void wake(void*) {}
#endif

int main() {
    int woken = 0;
    const multishot::Waker waker(&wake, &woken);
    waker.wake();
    return woken;
}
