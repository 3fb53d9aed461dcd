// glibc malloc settings and calls that decide how much of what berthd freed
// stays resident. Measured figures: docs/benchmarks.md, "Memory after a burst".
#pragma once

namespace berth::daemon::memory {

// Caps glibc's malloc arenas, unless MALLOC_ARENA_MAX is set in the
// environment (then the operator's value stands). Call before any thread
// exists. See the .cpp for the measurements behind the cap.
void limit_malloc_arenas();

// malloc_trim(0): gives every whole free page of every arena back to the
// kernel, not only the top of the main heap that glibc trims by itself.
// Logs (debug) the resident set before and after and the time it took.
void release_free_heap();

}  // namespace berth::daemon::memory
