// Builds against an installed multishot and checks one round trip.
#include <multishot.hpp>

#include <cstdio>
#include <thread>

// The installed header and the installed package version agree (the
// definitions come from find_package's multishot_VERSION_*).
static_assert(MULTISHOT_VERSION_MAJOR == CONSUMER_FOUND_VERSION_MAJOR &&
                  MULTISHOT_VERSION_MINOR == CONSUMER_FOUND_VERSION_MINOR &&
                  MULTISHOT_VERSION_PATCH == CONSUMER_FOUND_VERSION_PATCH,
              "the installed multishot.hpp and multishot-config-version.cmake disagree");

int main() {
    auto [sender, receiver] = multishot::channel<int>();
    std::thread producer([s = std::move(sender)]() mutable { s.send(42); });
    producer.join();
    const auto result = receiver.poll_recv(multishot::Waker{});
    if (!result || *result != multishot::RecvResult<int>(std::in_place, 42)) {
        std::fputs("consumer: expected 42\n", stderr);
        return 1;
    }
    std::puts("consumer: received 42 through an installed multishot");
    return 0;
}
