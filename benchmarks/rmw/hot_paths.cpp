// The channel's hot paths, each in its own non-inlined extern "C" function,
// for check_rmw.py to disassemble and count read-modify-write instructions
// in. main() runs each once so that the program is also a sanity check.
#include <new>
#include <optional>
#include <utility>

#include <multishot.hpp>

extern "C" {

// Marks the path that a claim is about: check_rmw.py counts the cheapest
// path from the function's entry to its return that passes a call to this.
[[gnu::noinline]] void rmw_claimed_path() noexcept { asm volatile(""); }

// Receiver::sender() when it succeeds: a load and plain stores, no RMW.
// Moves the sender into the caller's raw storage: assigning it would destroy
// a previous sender, whose close() is not part of this path.
[[gnu::noinline]] void rmw_sender(multishot::Receiver<int>& receiver, void* storage) noexcept {
    std::optional<multishot::Sender<int>> sender = receiver.sender();
    if (!sender) return;
    rmw_claimed_path();
    ::new (storage) multishot::Sender<int>(std::move(*sender));
}

// Sender::send with no waker change: one RMW (its cheapest path).
[[gnu::noinline]] void rmw_send(multishot::Sender<int>& sender, int value) {
    sender.send(value);
}

// poll_recv of a sent value: no RMW.
[[gnu::noinline]] int rmw_poll_ready(multishot::Receiver<int>& receiver) {
    multishot::PollResult<int> result = receiver.poll_recv(multishot::Waker{});
    if (!result || !result->has_value()) return -1;
    rmw_claimed_path();
    return **result;
}

// poll_recv, all paths: registering a waker costs at most two RMWs, and the
// cheapest path (a waker already registered) none.
[[gnu::noinline]] bool rmw_poll_recv(multishot::Receiver<int>& receiver,
                                     const multishot::Waker& waker) {
    return receiver.poll_recv(waker).has_value();
}

// The awaiter's ready check (co_await on a sent value): no RMW.
[[gnu::noinline]] bool rmw_await_ready(multishot::RecvAwaiter<int>& awaiter) noexcept {
    if (!awaiter.await_ready()) return false;
    rmw_claimed_path();
    return true;
}

// Sender::try_send delivering with no waker change: one RMW, like send.
[[gnu::noinline]] bool rmw_try_send(multishot::Sender<int>& sender, int value) {
    return !sender.try_send(value).has_value();
}

// Sender::poll_closed, all paths: a first registration costs one RMW (two
// in a block's lifetime: the first installs the extension), a change of
// waker two, and a re-poll with the registered waker none.
[[gnu::noinline]] bool rmw_poll_closed(multishot::Sender<int>& sender,
                                       const multishot::Waker& waker) noexcept {
    return sender.poll_closed(waker);
}

}  // extern "C"

// Four reuse cycles through the functions above.
int main() {
    multishot::Receiver<int> receiver;
    alignas(multishot::Sender<int>) unsigned char storage[sizeof(multishot::Sender<int>)];
    rmw_sender(receiver, storage);  // the channel is fresh: sender() succeeds
    auto& first = *std::launder(reinterpret_cast<multishot::Sender<int>*>(storage));
    rmw_send(first, 42);
    first.~Sender();
    if (rmw_poll_ready(receiver) != 42) return 1;

    rmw_sender(receiver, storage);
    auto& second = *std::launder(reinterpret_cast<multishot::Sender<int>*>(storage));
    rmw_send(second, 43);
    second.~Sender();
    if (!rmw_poll_recv(receiver, multishot::Waker{})) return 1;

    rmw_sender(receiver, storage);
    auto& third = *std::launder(reinterpret_cast<multishot::Sender<int>*>(storage));
    rmw_send(third, 44);
    third.~Sender();
    multishot::RecvAwaiter<int> awaiter = receiver.recv();
    if (!rmw_await_ready(awaiter) || awaiter.await_resume().value_or(0) != 44) return 1;

    rmw_sender(receiver, storage);
    auto& fourth = *std::launder(reinterpret_cast<multishot::Sender<int>*>(storage));
    if (rmw_poll_closed(fourth, multishot::Waker{})) return 1;
    if (!rmw_try_send(fourth, 45)) return 1;
    fourth.~Sender();
    return receiver.try_recv().value_or(0) == 45 ? 0 : 1;
}
