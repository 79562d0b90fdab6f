#pragma once

// A minimal fork-based death test: runs an action in a child process and
// reports how the child ended and what it wrote to stderr, so that a Catch
// test can check that a misuse aborts with the expected message without
// killing the test runner.
//
// POSIX only. The child is a copy of the calling process: call it from a
// single-threaded point (no other thread of the test alive), which is also
// what ThreadSanitizer needs to support fork. The child must not use Catch's
// assertions; it only performs the action.

#include <cerrno>
#include <cstddef>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace multishot_test {

// Whether the build runs under ThreadSanitizer (clang or g++ spelling).
#if defined(__SANITIZE_THREAD__)
inline constexpr bool under_thread_sanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool under_thread_sanitizer = true;
#else
inline constexpr bool under_thread_sanitizer = false;
#endif
#else
inline constexpr bool under_thread_sanitizer = false;
#endif

/// How a child process ended.
struct DeathResult {
    bool signaled = false;      // killed by a signal (then `signal` is set)
    int signal = 0;             // the signal that killed it
    bool exited = false;        // exited normally (then `exit_status` is set)
    int exit_status = 0;        // its exit status
    bool timed_out = false;     // still running after the time limit: killed
    std::string stderr_text;    // everything it wrote to stderr

    bool aborted() const noexcept { return signaled && signal == SIGABRT; }
    bool exited_cleanly() const noexcept { return exited && exit_status == 0; }
    bool stderr_contains(const std::string& part) const {
        return stderr_text.find(part) != std::string::npos;
    }

    /// "signal 6 (SIGABRT)", "exit status 0", ... for test messages.
    std::string describe() const {
        std::string text;
        if (timed_out) text = "timed out (killed), ";
        if (signaled) {
            text += "killed by signal " + std::to_string(signal);
            if (signal == SIGABRT) text += " (SIGABRT)";
            if (signal == SIGSEGV) text += " (SIGSEGV)";
        } else if (exited) {
            text += "exit status " + std::to_string(exit_status);
        } else {
            text += "unknown end";
        }
        return text + "; stderr: \"" + stderr_text + "\"";
    }
};

/// Exit status of a child whose action let an exception escape.
inline constexpr int escaped_exception_status = 3;
/// Exit status of a child whose action returned.
inline constexpr int returned_status = 0;

/// Runs `action` in a forked child with its stderr captured. The child exits
/// with status 0 if `action` returns and with escaped_exception_status if an
/// exception escapes it (built with exceptions). A child still running after
/// `limit` is killed (SIGKILL) and reported as timed out.
template <class Action>
DeathResult run_in_child(Action&& action,
                         std::chrono::milliseconds limit = std::chrono::milliseconds(10000)) {
    DeathResult result;
    int fds[2];
    if (::pipe(fds) != 0) {
        result.stderr_text = "(death test: pipe() failed)";
        return result;
    }
    // Nothing buffered may be written twice, by the parent and by the child.
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(fds[0]);
        ::close(fds[1]);
        result.stderr_text = "(death test: fork() failed)";
        return result;
    }
    if (pid == 0) {
        // Child: stderr into the pipe, stdout discarded (it is the test
        // runner's report); the default action for the signals that Catch
        // handles, so that an abort kills the child instead of making it
        // report a "fatal error condition" as the runner would. Then the
        // action. _Exit: no atexit handlers, no static destructors, no leak
        // check of the copied heap.
        ::close(fds[0]);
        ::dup2(fds[1], STDERR_FILENO);
        ::close(fds[1]);
        const int null_fd = ::open("/dev/null", O_WRONLY);
        if (null_fd >= 0) {
            ::dup2(null_fd, STDOUT_FILENO);
            ::close(null_fd);
        }
        for (const int signal : {SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTERM, SIGINT})
            std::signal(signal, SIG_DFL);
#if defined(__cpp_exceptions)
        try {
            std::forward<Action>(action)();
        } catch (...) {
            std::fputs("death test: an exception escaped the action\n", stderr);
            std::fflush(stderr);
            std::_Exit(escaped_exception_status);
        }
#else
        std::forward<Action>(action)();
#endif
        std::fflush(stderr);
        std::_Exit(returned_status);
    }

    // Parent: read until the child closes the pipe (it exits), or the limit.
    ::close(fds[1]);
    const auto deadline = std::chrono::steady_clock::now() + limit;
    char buffer[4096];
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            result.timed_out = true;
            ::kill(pid, SIGKILL);
            break;
        }
        pollfd waiting{fds[0], POLLIN, 0};
        const int ready = ::poll(&waiting, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) continue;  // the limit is checked above
        const ssize_t got = ::read(fds[0], buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;  // end of file: the child is gone
        result.stderr_text.append(buffer, static_cast<std::size_t>(got));
    }
    ::close(fds[0]);

    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status)) {
        result.signaled = true;
        result.signal = WTERMSIG(status);
    } else if (WIFEXITED(status)) {
        result.exited = true;
        result.exit_status = WEXITSTATUS(status);
    }
    return result;
}

}  // namespace multishot_test
