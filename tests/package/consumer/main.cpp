// Builds against an installed multishot and checks one round trip.
#include <multishot.hpp>

#include <cstdio>
#include <thread>

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
