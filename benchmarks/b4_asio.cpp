// B4 baselines: asio::experimental::concurrent_channel (capacity 1) ping-pong
// between two asio::awaitable coroutines, on one io_context (one thread) and
// on two io_contexts (one thread each).
#include <cstdint>
#include <system_error>
#include <thread>

#include <asio.hpp>
#include <asio/experimental/concurrent_channel.hpp>
#include <benchmark/benchmark.h>

namespace {

using Channel = asio::experimental::concurrent_channel<void(asio::error_code, std::uint32_t)>;

constexpr std::uint32_t stop_value = ~std::uint32_t{0};

asio::awaitable<void> echo_until_stop(Channel& ping, Channel& pong) {
    for (;;) {
        const std::uint32_t value = co_await ping.async_receive(asio::use_awaitable);
        if (value == stop_value) co_return;
        co_await pong.async_send(asio::error_code{}, value, asio::use_awaitable);
    }
}

asio::awaitable<void> drive(benchmark::State& state, Channel& ping, Channel& pong) {
    std::uint32_t value = 0;
    for (auto _ : state) {
        co_await ping.async_send(asio::error_code{}, ++value, asio::use_awaitable);
        if (co_await pong.async_receive(asio::use_awaitable) != value)
            state.SkipWithError("the echo answered a different value");
    }
    co_await ping.async_send(asio::error_code{}, stop_value, asio::use_awaitable);
}

// co_spawn's completion handler: rethrows what a coroutine threw.
void rethrow_failure(const std::exception_ptr& failure) {
    if (failure) std::rethrow_exception(failure);
}

void B4_asio_channel_one_thread(benchmark::State& state) {
    asio::io_context context(1);
    Channel ping(context, 1);
    Channel pong(context, 1);
    asio::co_spawn(context, echo_until_stop(ping, pong), rethrow_failure);
    asio::co_spawn(context, drive(state, ping, pong), rethrow_failure);
    context.run();
}
BENCHMARK(B4_asio_channel_one_thread);

void B4_asio_channel_two_threads(benchmark::State& state) {
    asio::io_context driving_context(1);
    asio::io_context echo_context(1);
    Channel ping(echo_context, 1);
    Channel pong(driving_context, 1);
    asio::co_spawn(echo_context, echo_until_stop(ping, pong), rethrow_failure);
    std::thread echo_thread([&echo_context] { echo_context.run(); });
    asio::co_spawn(driving_context, drive(state, ping, pong), rethrow_failure);
    driving_context.run();
    echo_thread.join();
}
BENCHMARK(B4_asio_channel_two_threads)->UseRealTime();

}  // namespace
