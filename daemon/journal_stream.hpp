// Whether a file descriptor is the journal's stream. systemd connects a
// service's stdout/stderr to journald and says which stream it is in
// JOURNAL_STREAM ("<device>:<inode>"); a process whose stderr is still that
// stream may log natively instead, keeping each message's priority, which
// plain lines on the stream lose (they all come out as the unit's default).
#pragma once

namespace berth::daemon {

// True when `journal_stream` (the JOURNAL_STREAM value, may be null) names
// the device and inode of `fd`. Anything malformed, or an fd that cannot be
// inspected, is false.
bool is_journal_stream(int fd, const char* journal_stream);

}  // namespace berth::daemon
