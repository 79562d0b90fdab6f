// The model runner: runs one scenario by name and records the transition
// rows it reached, or checks that the scenarios together reached every row.
//
//   multishot_model list
//   multishot_model run <scenario> <rows-file>
//   multishot_model coverage <rows-dir>
//
// `run` writes one "operation|row" line per reached row to <rows-file>;
// `coverage` reads <rows-dir>/<scenario>.rows for every registered scenario
// and fails, naming them, on rows of expected_rows.hpp that this executable
// must reach and none reached, and on reached rows that the lists lack (see
// expected_rows.hpp: the wait-only executable must reach its semaphore's rows
// only).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "model.hpp"

namespace multishot_model {
namespace {

constexpr std::size_t channel_row_count = std::size(channel_rows);
constexpr std::size_t row_count = channel_row_count + std::size(semaphore_rows);

// The channel's rows, then the semaphore's.
const TransitionRow& row_at(std::size_t i) {
    return i < channel_row_count ? channel_rows[i] : semaphore_rows[i - channel_row_count];
}

// Whether coverage requires row i to be reached by this executable's
// scenarios.
#if defined(MULTISHOT_MODEL_WAIT_ONLY)
bool required(std::size_t i) { return i >= channel_row_count; }
#else
bool required(std::size_t) { return true; }
#endif

// What record_transition saw in this process. Fixed-size, so that recording
// never allocates inside a simulation (Relacy would report a leak).
bool reached[row_count] = {};
constexpr std::size_t unexpected_capacity = 32;
TransitionRow unexpected[unexpected_capacity] = {};
std::size_t unexpected_count = 0;

bool same_row(const TransitionRow& row, const char* operation, const char* name) {
    return std::strcmp(row.operation, operation) == 0 && std::strcmp(row.row, name) == 0;
}

void record_unexpected(const char* operation, const char* row) noexcept {
    for (std::size_t i = 0; i != unexpected_count; ++i)
        if (same_row(unexpected[i], operation, row)) return;
    if (unexpected_count == unexpected_capacity) {
        std::fprintf(stderr, "too many unexpected transition rows\n");
        std::abort();
    }
    unexpected[unexpected_count++] = {operation, row};
}

std::string row_key(const TransitionRow& row) {
    return std::string(row.operation) + "|" + row.row;
}

bool write_rows(const std::string& path) {
    std::ofstream out(path);
    for (std::size_t i = 0; i != row_count; ++i)
        if (reached[i]) out << row_key(row_at(i)) << '\n';
    for (std::size_t i = 0; i != unexpected_count; ++i) out << row_key(unexpected[i]) << '\n';
    return static_cast<bool>(out);
}

const Scenario* find_scenario(const std::string& name) {
    for (const Scenario& scenario : scenarios())
        if (name == scenario.name) return &scenario;
    return nullptr;
}

int list_scenarios() {
    for (const Scenario& scenario : scenarios()) std::cout << scenario.name << '\n';
    return 0;
}

int run_scenario(const std::string& name, const std::string& rows_file) {
    const Scenario* scenario = find_scenario(name);
    if (scenario == nullptr) {
        std::cerr << "no scenario named " << name << '\n';
        return 2;
    }
    std::remove(rows_file.c_str());
    const bool passed = scenario->run();
    if (!write_rows(rows_file)) {
        std::cerr << "cannot write " << rows_file << '\n';
        return 2;
    }
    std::cout << (passed ? "PASSED: " : "FAILED: ") << name << '\n';
    return passed ? 0 : 1;
}

// Reads the rows files of all registered scenarios into `rows`; false, after
// naming them, if some are missing.
bool read_all_rows(const std::string& dir, std::set<std::string>& rows) {
    bool complete = true;
    for (const Scenario& scenario : scenarios()) {
        std::ifstream in(dir + "/" + scenario.name + ".rows");
        if (!in) {
            std::cout << "no rows file for scenario " << scenario.name
                      << " (did it run? is it registered in tests/model/CMakeLists.txt?)\n";
            complete = false;
        }
        for (std::string line; std::getline(in, line);) rows.insert(line);
    }
    return complete;
}

int check_coverage(const std::string& dir) {
    std::set<std::string> rows;
    bool ok = read_all_rows(dir, rows);
    std::size_t covered = 0;
    std::size_t required_count = 0;
    for (std::size_t i = 0; i != row_count; ++i) {
        const TransitionRow& row = row_at(i);
        const bool was_reached = rows.erase(row_key(row)) != 0;
        if (!required(i)) continue;
        ++required_count;
        if (was_reached) {
            ++covered;
        } else {
            std::cout << "MISSING: no scenario reached " << row.operation << " row \"" << row.row
                      << "\"\n";
            ok = false;
        }
    }
    for (const std::string& extra : rows) {
        std::cout << "UNLISTED: reached " << extra
                  << ", which tests/model/expected_rows.hpp does not list\n";
        ok = false;
    }
    std::cout << covered << " of " << required_count << " transition rows reached\n";
    return ok ? 0 : 1;
}

int usage() {
    std::cerr << "usage: multishot_model list | run <scenario> <rows-file> | coverage <rows-dir>\n";
    return 2;
}

}  // namespace

void record_transition(const char* operation, const char* row) noexcept {
    for (std::size_t i = 0; i != row_count; ++i) {
        if (same_row(row_at(i), operation, row)) {
            reached[i] = true;
            return;
        }
    }
    record_unexpected(operation, row);
}

bool explore(bool (*simulate)(rl::test_params&), const SearchPlan& plan) {
    std::ostringstream progress;  // Relacy's percentage ticks: not wanted
    rl::test_params exhaustive;
    exhaustive.progress_stream = &progress;
    exhaustive.search_type = plan.context_bound == 0 ? rl::sched_full : rl::sched_bound;
    exhaustive.context_bound = plan.context_bound;
    if (plan.context_bound == 0)
        std::cout << "search: full, plus " << plan.random_iterations << " random iterations: ";
    else
        std::cout << "search: context bound " << plan.context_bound << ", plus "
                  << plan.random_iterations << " random iterations: ";
    std::cout << plan.why << '\n';
    if (!simulate(exhaustive)) return false;

    rl::test_params random;
    random.progress_stream = &progress;
    random.search_type = rl::sched_random;
    random.iteration_count = plan.random_iterations;
    return simulate(random);
}

bool reached_all(std::initializer_list<TransitionRow> rows) {
    bool all = true;
    for (const TransitionRow& wanted : rows) {
        bool found = false;
        for (std::size_t i = 0; i != row_count && !found; ++i)
            found = reached[i] && same_row(row_at(i), wanted.operation, wanted.row);
        if (!found) {
            std::cout << "NOT REACHED: this scenario is meant to reach " << wanted.operation
                      << " row \"" << wanted.row << "\"\n";
            all = false;
        }
    }
    return all;
}

std::vector<Scenario>& scenarios() {
    static std::vector<Scenario> registry;
    return registry;
}

}  // namespace multishot_model

int main(int argc, char** argv) {
    using namespace multishot_model;
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 1 && args[0] == "list") return list_scenarios();
    if (args.size() == 3 && args[0] == "run") return run_scenario(args[1], args[2]);
    if (args.size() == 2 && args[0] == "coverage") return check_coverage(args[1]);
    return usage();
}
