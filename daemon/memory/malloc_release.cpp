#include "memory/malloc_release.hpp"

#include <malloc.h>

#include <chrono>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "metrics/process_stats.hpp"

namespace berth::daemon::memory {

namespace {

// glibc gives each thread that meets a locked arena a new one, up to 8 per
// core. berthd's calls run on gRPC's threads and on short-lived threads of
// its own (streaming sessions, namespace and CNI workers), so a burst ends
// with every arena holding a few long-lived blocks among its freed pages,
// which malloc_trim() cannot give back: 16 arenas, 3.2 MiB resident in them
// after a burst and a trim, against 0.1 MiB when berthd had just started.
// With two, berthd held 5.0 MiB anonymous after the same burst and trim
// instead of 6.7 (3.2 fresh); one arena saved 0.4 MiB more but makes every
// thread share one lock. No call got slower: berthd's work is mostly waiting
// on child processes and disks, not allocating.
constexpr int kMaxArenas = 2;

}  // namespace

void limit_malloc_arenas() {
    if (std::getenv("MALLOC_ARENA_MAX") != nullptr)
        return;
    if (mallopt(M_ARENA_MAX, kMaxArenas) != 1)
        spdlog::warn("could not limit malloc arenas to {}", kMaxArenas);
}

void release_free_heap() {
    const auto before = metrics::resident_memory_bytes();
    const auto started = std::chrono::steady_clock::now();
    malloc_trim(0);
    const std::chrono::duration<double, std::milli> took =
        std::chrono::steady_clock::now() - started;
    const auto after = metrics::resident_memory_bytes();
    spdlog::debug("gave freed heap memory back after a quiet spell: RSS {} -> {} KiB in {:.1f} ms",
                  before / 1024, after / 1024, took.count());
}

}  // namespace berth::daemon::memory
