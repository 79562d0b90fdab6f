// Counts the heap allocations of co_await async_recv(receiver, use_awaitable)
// in steady state (after a warm-up), counting the allocations of this
// executable's code (asio's included):
//   * pending, sent from the io_context's own thread (another task);
//   * pending, sent from a thread outside the io_context;
//   * the value already there when the receive starts.
// Each figure is the allocations of the whole round divided by the rounds:
// the sender's side (a task posted to send, a hand-off to the other thread)
// is built not to allocate, so the figure is the receive's. Prints them and
// checks the first and last are zero, the second at most about three.
// MULTISHOT_TEST_BOOST_ASIO chooses the flavour.
#if MULTISHOT_TEST_BOOST_ASIO
#include <multishot/boost_asio.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
namespace net = boost::asio;
namespace adapter = multishot::boost_asio;
constexpr const char* flavour = "boost_asio";
#else
#include <multishot/asio.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
namespace net = ::asio;
namespace adapter = multishot::asio;
constexpr const char* flavour = "asio";
#endif

#include <multishot.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <new>
#include <optional>
#include <thread>
#include <utility>

namespace {

// Relaxed throughout: a tally, read on the thread that runs the rounds after
// the rounds' hand-offs (mutex, io_context queue) ordered the other thread's
// increments before it.
std::atomic<long> allocations{0};

long allocations_now() { return allocations.load(std::memory_order_relaxed); }

constexpr int warm_up = 100;
constexpr int rounds = 1000;

// A one-slot hand-off to a sending thread that does not allocate per round;
// it sends 300 us after the hand-off.
class SendingThread {
public:
    SendingThread() : thread_([this] { serve(); }) {}
    ~SendingThread() {
        {
            std::lock_guard lock(mutex_);
            stopped_ = true;
        }
        changed_.notify_one();
        thread_.join();
    }
    void send(multishot::Sender<int> sender, int value) {
        {
            std::lock_guard lock(mutex_);
            job_.emplace(std::move(sender));
            value_ = value;
        }
        changed_.notify_one();
    }

private:
    void serve() {
        std::unique_lock lock(mutex_);
        for (;;) {
            changed_.wait(lock, [this] { return job_.has_value() || stopped_; });
            if (!job_) return;
            multishot::Sender<int> sender = std::move(*job_);
            job_.reset();
            const int value = value_;
            lock.unlock();
            // Long enough for the receive to be pending (a post from the io
            // thread to hand over would take from its allocation cache).
            std::this_thread::sleep_for(std::chrono::microseconds(300));
            sender.send(value);
            lock.lock();
        }
    }

    std::mutex mutex_;
    std::condition_variable changed_;
    std::optional<multishot::Sender<int>> job_;
    int value_ = 0;
    bool stopped_ = false;
    std::thread thread_;
};

enum class Way { same_thread, other_thread, already_there };

// Receives warm_up + rounds values the given way; returns the allocations of
// the last `rounds` rounds, divided by their number.
double allocations_per_receive(Way way) {
    net::io_context io;
    SendingThread other;
    multishot::Receiver<int> receiver;
    long before = 0;
    long after = 0;
    bool right = true;
    std::exception_ptr error;
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
            for (int i = 0; i < warm_up + rounds; ++i) {
                if (i == warm_up) before = allocations_now();
                multishot::Sender<int> sender = *receiver.sender();
                switch (way) {
                    case Way::same_thread:
                        // Runs after the receive is pending.
                        net::post(io, [&sender, i] { sender.send(i); });
                        break;
                    case Way::other_thread:
                        other.send(std::move(sender), i);
                        break;
                    case Way::already_there:
                        sender.send(i);
                        break;
                }
                const multishot::RecvResult<int> result =
                    co_await adapter::async_recv(receiver, net::use_awaitable);
                right = right && result == multishot::RecvResult<int>(std::in_place, i);
            }
            after = allocations_now();
        },
        [&](std::exception_ptr e) { error = e; });
    io.run();
    if (error) std::rethrow_exception(error);
    if (!right) {
        std::puts("allocations_test: a receive returned the wrong value");
        std::exit(EXIT_FAILURE);
    }
    return static_cast<double>(after - before) / rounds;
}

}  // namespace

// Every allocation of this executable's own code (asio's included: it is all
// headers) is counted by wrapping, at link time (ld --wrap, see
// CMakeLists.txt), malloc, aligned_alloc (asio's recycling allocator calls it
// directly), posix_memalign (what Boost.Align's aligned_alloc calls, which
// Boost.Asio uses where the standard library lacks std::aligned_alloc, as
// libc++ 16 does to Boost's eyes) and the four replaceable operator new that
// allocate (their names mangled for the size_t of the target). Wrapping, not
// replacing: the sanitizers' runtimes define operator new themselves.
#if SIZE_MAX > 0xFFFFFFFFu
#define MULTISHOT_NEW_NAME(prefix, array, suffix) prefix##_Zn##array##m##suffix
#else
#define MULTISHOT_NEW_NAME(prefix, array, suffix) prefix##_Zn##array##j##suffix
#endif
#define MULTISHOT_WRAP(name, parameters, arguments)          \
    void* __real_##name parameters;                          \
    void* __wrap_##name parameters {                         \
        allocations.fetch_add(1, std::memory_order_relaxed); \
        return __real_##name arguments;                      \
    }

extern "C" {
MULTISHOT_WRAP(malloc, (std::size_t size), (size))
MULTISHOT_WRAP(aligned_alloc, (std::size_t alignment, std::size_t size), (alignment, size))
int __real_posix_memalign(void** memory, std::size_t alignment, std::size_t size);
int __wrap_posix_memalign(void** memory, std::size_t alignment, std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    return __real_posix_memalign(memory, alignment, size);
}
void* MULTISHOT_NEW_NAME(__real_, w, )(std::size_t size);
void* MULTISHOT_NEW_NAME(__real_, a, )(std::size_t size);
void* MULTISHOT_NEW_NAME(__real_, w, St11align_val_t)(std::size_t size, std::align_val_t align);
void* MULTISHOT_NEW_NAME(__real_, a, St11align_val_t)(std::size_t size, std::align_val_t align);
void* MULTISHOT_NEW_NAME(__wrap_, w, )(std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    return MULTISHOT_NEW_NAME(__real_, w, )(size);
}
void* MULTISHOT_NEW_NAME(__wrap_, a, )(std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    return MULTISHOT_NEW_NAME(__real_, a, )(size);
}
void* MULTISHOT_NEW_NAME(__wrap_, w, St11align_val_t)(std::size_t size, std::align_val_t align) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    return MULTISHOT_NEW_NAME(__real_, w, St11align_val_t)(size, align);
}
void* MULTISHOT_NEW_NAME(__wrap_, a, St11align_val_t)(std::size_t size, std::align_val_t align) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    return MULTISHOT_NEW_NAME(__real_, a, St11align_val_t)(size, align);
}
}

int main() {
    const double same_thread = allocations_per_receive(Way::same_thread);
    const double other_thread = allocations_per_receive(Way::other_thread);
    const double already_there = allocations_per_receive(Way::already_there);
    std::printf(
        "[%s] allocations per co_await async_recv(use_awaitable), steady state: "
        "%.2f pending and sent from the io thread, %.2f pending and sent from another "
        "thread, %.2f with the value already there\n",
        flavour, same_thread, other_thread, already_there);
    // From another thread: three. asio's post allocates two records on that
    // thread, which has no cache of asio's to recycle from (the type-erased
    // function of any_io_executor, the scheduler's operation); freed on the
    // io thread, first, they fill its recycling cache (two slots), so the
    // larger operation record, freed next, goes back to the heap, and is
    // allocated again by the next receive.
    const bool ok = same_thread == 0 && already_there == 0 && other_thread < 3.5;
    std::puts(ok ? "allocations_test: all good" : "allocations_test: FAILED");
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
