//! The Rust peers of multishot_bench (issue 13): tokio::sync::oneshot,
//! futures::channel::oneshot and, when benchmarks/peers/build was given their
//! source trees, Rust multishot 0.3.2 and the oneshot crate 0.2.1, in the
//! scenarios of the C++ benchmarks they are compared with:
//!
//! | C++ (multishot_bench)     | here, for each peer        |
//! |---------------------------|----------------------------|
//! | `B1_multishot_poll`       | `B1_<peer>_poll`           |
//! | `B1_multishot_co_await`   | `B1_<peer>_await`          |
//! | `B1_multishot_waker`      | `B1_<peer>_waker`          |
//! | `B4_multishot_one_thread` | `B4_<peer>_one_thread`     |
//! | `B4_multishot_executor`   | `B4_<peer>_executor`       |
//!
//! Rust multishot reuses its channel as the C++ port does; the one-shot
//! crates cannot, so their cycle makes a new channel per message (as
//! `B1_fresh_channel_per_message` does in C++), and their ping-pong sends a
//! new channel's sender with each message where multishot sends a recycled
//! one.
//!
//! The command line and the JSON file are those of Google Benchmark, as far
//! as benchmarks/report uses them: --benchmark_filter (alternatives separated
//! by '|', each a substring of the name, with ^ $ ( ) ignored),
//! --benchmark_repetitions, --benchmark_min_time (seconds),
//! --benchmark_enable_random_interleaving, --benchmark_out and
//! --benchmark_out_format=json, --benchmark_list_tests. Times are ns per
//! cycle or round trip; CPU time is this thread's.
//!
//! Written for Debian 12's rustc 1.63 too (no std::hint::black_box, no pin!,
//! no Waker::noop).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::time::Instant;

// ---------------------------------------------------------------------------
// Keeping results alive: Google Benchmark's DoNotOptimize for an int (the
// value in a register, and the compiler must assume memory is read and
// written: asm! without `nomem`).

#[inline(always)]
fn consume(value: i32) {
    // SAFETY: an empty asm statement: it only names the register.
    unsafe {
        std::arch::asm!("/* {0} */", in(reg) value as i64, options(nostack, preserves_flags));
    }
}

// ---------------------------------------------------------------------------
// Wakers.

unsafe fn noop_clone(_: *const ()) -> RawWaker {
    RawWaker::new(std::ptr::null(), &NOOP_VTABLE)
}
unsafe fn noop(_: *const ()) {}
static NOOP_VTABLE: RawWakerVTable = RawWakerVTable::new(noop_clone, noop, noop, noop);

/// The empty waker: polls that are ready never use it (C++: `Waker{}`).
fn noop_waker() -> Waker {
    // SAFETY: the vtable's functions do nothing.
    unsafe { Waker::from_raw(noop_clone(std::ptr::null())) }
}

unsafe fn flag_clone(flag: *const ()) -> RawWaker {
    RawWaker::new(flag, &FLAG_VTABLE)
}
unsafe fn flag_wake(flag: *const ()) {
    // Relaxed: the flag is read on this thread (as in C++'s set_flag).
    (*(flag as *const AtomicBool)).store(true, Ordering::Relaxed);
}
static FLAG_VTABLE: RawWakerVTable = RawWakerVTable::new(flag_clone, flag_wake, flag_wake, noop);

/// A waker that sets `flag` (C++: `Waker(&set_flag, &flag)`). Cloning it is
/// a copy, as copying a C++ Waker is: the flag outlives every clone here.
fn flag_waker(flag: &AtomicBool) -> Waker {
    // SAFETY: every benchmark keeps the flag alive until its wakers are gone.
    unsafe { Waker::from_raw(flag_clone(flag as *const AtomicBool as *const ())) }
}

/// Polls `future` until it completes; between polls it requires that a
/// waker was called (a one-thread benchmark that waits for nothing else).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = Box::pin(future);
    let woken = AtomicBool::new(false);
    let waker = flag_waker(&woken);
    let mut context = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        if !woken.load(Ordering::Relaxed) {
            panic!("block_on: pending, and no waker was called");
        }
        woken.store(false, Ordering::Relaxed);
    }
}

/// Polls a future once: the async loops of B1 complete in that one poll.
fn run_once<F: Future>(future: F) -> F::Output {
    let mut future = Box::pin(future);
    let waker = noop_waker();
    match future.as_mut().poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an .await on a ready value suspended"),
    }
}

/// Two futures on one task, polled in turn whenever the task is woken (what
/// futures::join! does): the one-thread ping-pong without an executor,
/// Rust's counterpart of C++'s inline resumption.
struct Join2<A: Future<Output = ()>, B: Future<Output = ()>> {
    a: Pin<Box<A>>,
    b: Pin<Box<B>>,
    a_done: bool,
    b_done: bool,
}

impl<A: Future<Output = ()>, B: Future<Output = ()>> Future for Join2<A, B> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut(); // Join2 is Unpin: its futures are boxed.
        if !this.a_done {
            this.a_done = this.a.as_mut().poll(context).is_ready();
        }
        if !this.b_done {
            this.b_done = this.b.as_mut().poll(context).is_ready();
        }
        if this.a_done && this.b_done {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

fn join2<A: Future<Output = ()>, B: Future<Output = ()>>(a: A, b: B) -> Join2<A, B> {
    Join2 { a: Box::pin(a), b: Box::pin(b), a_done: false, b_done: false }
}

// ---------------------------------------------------------------------------
// The run-queue executor of B4_*_executor, as in b4_coroutines.cpp: each
// task's waker sets the task's queued flag and, if it was clear, pushes the
// task onto the run queue; the executor polls the tasks it pops. One thread
// only (the queue is not synchronized, as in C++).

struct QueuedTask {
    queue: *const RunQueue,
    index: usize,
    queued: AtomicBool,
}

struct RunQueue {
    slots: [Cell<usize>; 4], // two tasks, each queued at most once
    head: Cell<usize>,
    tail: Cell<usize>,
}

impl RunQueue {
    fn new() -> Self {
        RunQueue {
            slots: [Cell::new(0), Cell::new(0), Cell::new(0), Cell::new(0)],
            head: Cell::new(0),
            tail: Cell::new(0),
        }
    }
    fn push(&self, index: usize) {
        let tail = self.tail.get();
        self.slots[tail % 4].set(index);
        self.tail.set(tail + 1);
    }
    fn pop(&self) -> Option<usize> {
        let head = self.head.get();
        if head == self.tail.get() {
            return None;
        }
        self.head.set(head + 1);
        Some(self.slots[head % 4].get())
    }
}

unsafe fn task_clone(task: *const ()) -> RawWaker {
    RawWaker::new(task, &TASK_VTABLE)
}
unsafe fn task_wake(task: *const ()) {
    let task = &*(task as *const QueuedTask);
    // Relaxed: one thread.
    if task.queued.load(Ordering::Relaxed) {
        return;
    }
    task.queued.store(true, Ordering::Relaxed);
    (*task.queue).push(task.index);
}
static TASK_VTABLE: RawWakerVTable = RawWakerVTable::new(task_clone, task_wake, task_wake, noop);

/// Runs two tasks to completion: each is polled once first (as the C++
/// coroutines start eagerly, the answering one first), then whenever woken.
fn run_two_tasks(answering: impl Future<Output = ()>, driving: impl Future<Output = ()>) {
    let queue = RunQueue::new();
    let records = [
        QueuedTask { queue: &queue, index: 0, queued: AtomicBool::new(false) },
        QueuedTask { queue: &queue, index: 1, queued: AtomicBool::new(false) },
    ];
    // SAFETY: the records and the queue outlive the tasks, which the
    // function drops before returning, and every waker they hold.
    let wakers = unsafe {
        [
            Waker::from_raw(task_clone(&records[0] as *const QueuedTask as *const ())),
            Waker::from_raw(task_clone(&records[1] as *const QueuedTask as *const ())),
        ]
    };
    let mut tasks: [Pin<Box<dyn Future<Output = ()> + '_>>; 2] =
        [Box::pin(answering), Box::pin(driving)];
    let mut done = [false, false];
    for record in &records {
        record.queued.store(true, Ordering::Relaxed);
        queue.push(record.index);
    }
    while let Some(index) = queue.pop() {
        records[index].queued.store(false, Ordering::Relaxed);
        if !done[index] {
            done[index] = tasks[index].as_mut().poll(&mut Context::from_waker(&wakers[index])).is_ready();
        }
    }
    if !(done[0] && done[1]) {
        panic!("a task did not finish");
    }
}

// ---------------------------------------------------------------------------
// Rust multishot 0.3.2: reusable, as the C++ port.

#[cfg(feature = "multishot_rs")]
mod multishot_rs {
    use super::*;
    use multishot::{Receiver, Sender};

    pub const PEER: &str = "multishot_rs";

    pub fn b1_poll(iterations: u64) {
        let mut receiver = Receiver::<i32>::new();
        let waker = noop_waker();
        let mut context = Context::from_waker(&waker);
        let mut value = 0i32;
        for _ in 0..iterations {
            receiver.sender().unwrap().send(value);
            value = value.wrapping_add(1);
            match Pin::new(&mut receiver.recv()).poll(&mut context) {
                Poll::Ready(Ok(got)) => consume(got),
                _ => panic!("not ready"),
            }
        }
    }

    pub fn b1_await(iterations: u64) {
        let mut receiver = Receiver::<i32>::new();
        run_once(async {
            let mut value = 0i32;
            for _ in 0..iterations {
                receiver.sender().unwrap().send(value);
                value = value.wrapping_add(1);
                consume(receiver.recv().await.unwrap());
            }
        });
    }

    pub fn b1_waker(iterations: u64) {
        let mut receiver = Receiver::<i32>::new();
        let woken = AtomicBool::new(false);
        let waker = flag_waker(&woken);
        let mut context = Context::from_waker(&waker);
        let mut value = 0i32;
        let mut wrong = 0u64;
        for _ in 0..iterations {
            let sender = receiver.sender().unwrap();
            if Pin::new(&mut receiver.recv()).poll(&mut context).is_ready() {
                wrong += 1;
            }
            sender.send(value);
            value = value.wrapping_add(1);
            if !woken.load(Ordering::Relaxed) {
                wrong += 1;
            }
            woken.store(false, Ordering::Relaxed);
            match Pin::new(&mut receiver.recv()).poll(&mut context) {
                Poll::Ready(Ok(got)) => consume(got),
                _ => panic!("not ready"),
            }
        }
        assert_eq!(wrong, 0, "a poll was not pending first, or the send did not wake");
    }

    pub struct Ping {
        reply: Sender<Pong>,
    }
    pub struct Pong {
        next: Sender<Ping>,
    }

    async fn answer(mut pings: Receiver<Ping>) {
        while let Ok(ping) = pings.recv().await {
            ping.reply.send(Pong { next: pings.sender().unwrap() });
        }
    }

    async fn drive(mut pongs: Receiver<Pong>, mut to_pong: Sender<Ping>, iterations: u64) {
        for _ in 0..iterations {
            to_pong.send(Ping { reply: pongs.sender().unwrap() });
            to_pong = pongs.recv().await.unwrap().next;
        }
    }

    fn ping_pong(iterations: u64) -> (impl Future<Output = ()>, impl Future<Output = ()>) {
        let mut pings = Receiver::<Ping>::new();
        let to_pong = pings.sender().unwrap();
        (answer(pings), drive(Receiver::new(), to_pong, iterations))
    }

    pub fn b4_one_thread(iterations: u64) {
        let (answering, driving) = ping_pong(iterations);
        block_on(join2(driving, answering));
    }

    pub fn b4_executor(iterations: u64) {
        let (answering, driving) = ping_pong(iterations);
        run_two_tasks(answering, driving);
    }
}

// ---------------------------------------------------------------------------
// The one-shot crates: a new channel per message. Each module defines Tx, Rx
// (a Future + Unpin with a Result output), channel() and send().

macro_rules! one_shot_scenarios {
    ($peer:literal) => {
        use super::*;

        pub const PEER: &str = $peer;

        pub fn b1_poll(iterations: u64) {
            let waker = noop_waker();
            let mut context = Context::from_waker(&waker);
            let mut value = 0i32;
            for _ in 0..iterations {
                let (sender, mut receiver) = channel::<i32>();
                send(sender, value);
                value = value.wrapping_add(1);
                match Pin::new(&mut receiver).poll(&mut context) {
                    Poll::Ready(Ok(got)) => consume(got),
                    _ => panic!("not ready"),
                }
            }
        }

        pub fn b1_await(iterations: u64) {
            run_once(async {
                let mut value = 0i32;
                for _ in 0..iterations {
                    let (sender, receiver) = channel::<i32>();
                    send(sender, value);
                    value = value.wrapping_add(1);
                    match receiver.await {
                        Ok(got) => consume(got),
                        Err(_) => panic!("closed"),
                    }
                }
            });
        }

        pub fn b1_waker(iterations: u64) {
            let woken = AtomicBool::new(false);
            let waker = flag_waker(&woken);
            let mut context = Context::from_waker(&waker);
            let mut value = 0i32;
            let mut wrong = 0u64;
            for _ in 0..iterations {
                let (sender, mut receiver) = channel::<i32>();
                if Pin::new(&mut receiver).poll(&mut context).is_ready() {
                    wrong += 1;
                }
                send(sender, value);
                value = value.wrapping_add(1);
                if !woken.load(Ordering::Relaxed) {
                    wrong += 1;
                }
                woken.store(false, Ordering::Relaxed);
                match Pin::new(&mut receiver).poll(&mut context) {
                    Poll::Ready(Ok(got)) => consume(got),
                    _ => panic!("not ready"),
                }
            }
            assert_eq!(wrong, 0, "a poll was not pending first, or the send did not wake");
        }

        pub struct Ping {
            reply: Tx<Pong>,
        }
        pub struct Pong {
            next: Tx<Ping>,
        }

        async fn answer(mut pings: Rx<Ping>) {
            while let Ok(ping) = (&mut pings).await {
                let (next, next_pings) = channel::<Ping>();
                send(ping.reply, Pong { next });
                pings = next_pings;
            }
        }

        async fn drive(mut to_pong: Tx<Ping>, iterations: u64) {
            for _ in 0..iterations {
                let (reply, pongs) = channel::<Pong>();
                send(to_pong, Ping { reply });
                match pongs.await {
                    Ok(pong) => to_pong = pong.next,
                    Err(_) => panic!("closed"),
                }
            }
        }

        fn ping_pong(iterations: u64) -> (impl Future<Output = ()>, impl Future<Output = ()>) {
            let (to_pong, pings) = channel::<Ping>();
            (answer(pings), drive(to_pong, iterations))
        }

        pub fn b4_one_thread(iterations: u64) {
            let (answering, driving) = ping_pong(iterations);
            block_on(join2(driving, answering));
        }

        pub fn b4_executor(iterations: u64) {
            let (answering, driving) = ping_pong(iterations);
            run_two_tasks(answering, driving);
        }
    };
}

mod tokio_oneshot {
    pub type Tx<T> = tokio::sync::oneshot::Sender<T>;
    pub type Rx<T> = tokio::sync::oneshot::Receiver<T>;
    pub fn channel<T>() -> (Tx<T>, Rx<T>) {
        tokio::sync::oneshot::channel()
    }
    #[inline(always)]
    pub fn send<T>(sender: Tx<T>, value: T) {
        if sender.send(value).is_err() {
            panic!("closed");
        }
    }
    one_shot_scenarios!("tokio_oneshot");
}

mod futures_oneshot {
    pub type Tx<T> = futures_channel::oneshot::Sender<T>;
    pub type Rx<T> = futures_channel::oneshot::Receiver<T>;
    pub fn channel<T>() -> (Tx<T>, Rx<T>) {
        futures_channel::oneshot::channel()
    }
    #[inline(always)]
    pub fn send<T>(sender: Tx<T>, value: T) {
        if sender.send(value).is_err() {
            panic!("closed");
        }
    }
    one_shot_scenarios!("futures_oneshot");
}

#[cfg(feature = "oneshot_rs")]
mod oneshot_rs {
    pub type Tx<T> = oneshot::Sender<T>;
    pub type Rx<T> = oneshot::AsyncReceiver<T>;
    pub fn channel<T>() -> (Tx<T>, Rx<T>) {
        oneshot::async_channel()
    }
    #[inline(always)]
    pub fn send<T>(sender: Tx<T>, value: T) {
        if sender.send(value).is_err() {
            panic!("closed");
        }
    }
    one_shot_scenarios!("oneshot_rs");
}

// ---------------------------------------------------------------------------
// The harness.

struct Benchmark {
    name: String,
    run: fn(u64),
    iterations: u64, // found by the first repetition
}

macro_rules! register {
    ($list:ident, $peer:ident) => {
        for (name, run) in [
            ("B1", "poll", $peer::b1_poll as fn(u64)),
            ("B1", "await", $peer::b1_await),
            ("B1", "waker", $peer::b1_waker),
            ("B4", "one_thread", $peer::b4_one_thread),
            ("B4", "executor", $peer::b4_executor),
        ]
        .iter()
        .map(|&(id, what, run)| (format!("{}_{}_{}", id, $peer::PEER, what), run))
        {
            $list.push(Benchmark { name, run, iterations: 0 });
        }
    };
}

fn all_benchmarks() -> Vec<Benchmark> {
    let mut list = Vec::new();
    #[cfg(feature = "multishot_rs")]
    register!(list, multishot_rs);
    register!(list, tokio_oneshot);
    register!(list, futures_oneshot);
    #[cfg(feature = "oneshot_rs")]
    register!(list, oneshot_rs);
    list
}

fn thread_cpu_seconds() -> f64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid timespec to write to.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9
}

struct Sample {
    iterations: u64,
    real_ns: f64, // per iteration
    cpu_ns: f64,
}

fn time(run: fn(u64), iterations: u64) -> (f64, f64) {
    let cpu_start = thread_cpu_seconds();
    let start = Instant::now();
    run(iterations);
    let real = start.elapsed().as_secs_f64();
    (real, thread_cpu_seconds() - cpu_start)
}

/// One repetition: as Google Benchmark, grows the iteration count until a
/// run takes at least `min_time` seconds of CPU time (the first repetition;
/// later ones reuse its count), and reports that run.
fn measure(benchmark: &mut Benchmark, min_time: f64) -> Sample {
    let mut iterations = if benchmark.iterations > 0 { benchmark.iterations } else { 1 };
    loop {
        let (real, cpu) = time(benchmark.run, iterations);
        if benchmark.iterations > 0 || cpu >= min_time || iterations >= 1_000_000_000 {
            benchmark.iterations = iterations;
            return Sample {
                iterations,
                real_ns: real * 1e9 / iterations as f64,
                cpu_ns: cpu * 1e9 / iterations as f64,
            };
        }
        let multiplier = if cpu / min_time > 0.1 { min_time * 1.4 / cpu.max(1e-9) } else { 10.0 };
        iterations = ((iterations as f64 * multiplier).max(iterations as f64 + 1.0)) as u64;
    }
}

fn matches(name: &str, filter: &str) -> bool {
    let cleaned: String = filter.chars().filter(|c| !"^$()".contains(*c)).collect();
    cleaned.is_empty() || cleaned == "." || cleaned == ".*" || cleaned.split('|').any(|part| name.contains(part))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn cpu_mhz() -> f64 {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("cpu MHz"))
                .and_then(|line| line.split(':').nth(1))
                .and_then(|value| value.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

/// A splitmix64 generator for the interleaving (no rand crate needed).
struct Shuffle(u64);
impl Shuffle {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn main() {
    let mut filter = String::new();
    let mut repetitions = 1usize;
    let mut min_time = 0.5f64;
    let mut interleave = false;
    let mut out: Option<String> = None;
    let mut list_only = false;
    for argument in std::env::args().skip(1) {
        let (key, value) = match argument.split_once('=') {
            Some((key, value)) => (key.to_string(), value.to_string()),
            None => (argument.clone(), "true".to_string()),
        };
        match key.as_str() {
            "--benchmark_filter" => filter = value,
            "--benchmark_repetitions" => repetitions = value.parse().expect("repetitions"),
            "--benchmark_min_time" => {
                min_time = value.trim_end_matches('s').parse().expect("min_time")
            }
            "--benchmark_enable_random_interleaving" => interleave = value == "true",
            "--benchmark_out" => out = Some(value),
            "--benchmark_out_format" => {
                if value != "json" {
                    panic!("only --benchmark_out_format=json")
                }
            }
            "--benchmark_list_tests" => list_only = value == "true",
            _ => {
                eprintln!("unknown argument {argument} (see the comment at the top of src/main.rs)");
                std::process::exit(2);
            }
        }
    }
    let mut benchmarks: Vec<Benchmark> =
        all_benchmarks().into_iter().filter(|b| matches(&b.name, &filter)).collect();
    if list_only {
        for benchmark in &benchmarks {
            println!("{}", benchmark.name);
        }
        return;
    }
    let repetitions = repetitions.max(1);
    let mut samples: Vec<Vec<Sample>> = benchmarks.iter().map(|_| Vec::new()).collect();
    let mut shuffle = Shuffle(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1));
    println!("{:<32} {:>13} {:>13} {:>12}", "Benchmark", "Time", "CPU", "Iterations");
    for _ in 0..repetitions {
        let mut order: Vec<usize> = (0..benchmarks.len()).collect();
        if interleave {
            for i in (1..order.len()).rev() {
                order.swap(i, (shuffle.next() % (i as u64 + 1)) as usize);
            }
        }
        for index in order {
            let sample = measure(&mut benchmarks[index], min_time);
            println!("{:<32} {:>10.1} ns {:>10.1} ns {:>12}", benchmarks[index].name,
                     sample.real_ns, sample.cpu_ns, sample.iterations);
            samples[index].push(sample);
        }
    }
    let mut entries = Vec::new();
    for (family, (benchmark, runs)) in benchmarks.iter().zip(&samples).enumerate() {
        for (repetition, sample) in runs.iter().enumerate() {
            entries.push(format!(
                "{{\"name\": {name}, \"family_index\": {family}, \"run_name\": {name}, \
                 \"run_type\": \"iteration\", \"repetitions\": {repetitions}, \
                 \"repetition_index\": {repetition}, \"threads\": 1, \"iterations\": {}, \
                 \"real_time\": {:.4}, \"cpu_time\": {:.4}, \"time_unit\": \"ns\"}}",
                sample.iterations, sample.real_ns, sample.cpu_ns,
                name = json_string(&benchmark.name)));
        }
        if repetitions > 1 {
            let mut real: Vec<f64> = runs.iter().map(|s| s.real_ns).collect();
            let mut cpu: Vec<f64> = runs.iter().map(|s| s.cpu_ns).collect();
            entries.push(format!(
                "{{\"name\": {}, \"family_index\": {family}, \"run_name\": {}, \
                 \"run_type\": \"aggregate\", \"repetitions\": {repetitions}, \
                 \"threads\": 1, \"aggregate_name\": \"median\", \"iterations\": {repetitions}, \
                 \"real_time\": {:.4}, \"cpu_time\": {:.4}, \"time_unit\": \"ns\"}}",
                json_string(&format!("{}_median", benchmark.name)),
                json_string(&benchmark.name), median(&mut real), median(&mut cpu)));
        }
    }
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let executable = std::env::args().next().unwrap_or_default();
    let json = format!(
        "{{\n  \"context\": {{\"executable\": {}, \"num_cpus\": {cpus}, \"mhz_per_cpu\": {:.0}, \
         \"library_build_type\": \"release\", \"library\": \"multishot_peers\"}},\n  \
         \"benchmarks\": [\n    {}\n  ]\n}}\n",
        json_string(&executable), cpu_mhz(), entries.join(",\n    "));
    if let Some(path) = out {
        std::fs::write(&path, json).expect("cannot write --benchmark_out");
    }
}
