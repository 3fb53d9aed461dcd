#include "container/stop_signal.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <string.h>

#include <algorithm>
#include <charconv>

#include "status_error.hpp"

namespace berth::daemon::container {

namespace v1 = runtime::v1;

namespace {

// The enum's real-time values (by number: their names are <signal.h>'s
// macros here) count up from SIGRTMIN (35) to SIGRTMINPLUS15 (50) and down
// from SIGRTMAX (65) to SIGRTMAXMINUS14 (51). glibc's SIGRTMIN (34) is the
// first real-time signal, as in Go's tables, which kubelet's side uses.
constexpr int kCriRtMin = 35;
constexpr int kCriRtMinPlusLast = 50;
constexpr int kCriRtMaxMinusFirst = 51;
constexpr int kCriRtMax = 65;

// "RTMIN+3", "RTMAX-1", "RTMIN": the real-time names images use.
int realtime_number(const std::string& name) {
    const auto offset = [&](std::size_t from) {
        int value = 0;
        const char* end = name.data() + name.size();
        const auto parsed = std::from_chars(name.data() + from, end, value);
        return parsed.ec == std::errc() && parsed.ptr == end ? value : -1;
    };
    if (name == "RTMIN")
        return SIGRTMIN;
    if (name == "RTMAX")
        return SIGRTMAX;
    if (name.rfind("RTMIN+", 0) == 0) {
        const int value = offset(6);
        return value >= 0 && SIGRTMIN + value <= SIGRTMAX ? SIGRTMIN + value : 0;
    }
    if (name.rfind("RTMAX-", 0) == 0) {
        const int value = offset(6);
        return value >= 0 && SIGRTMAX - value >= SIGRTMIN ? SIGRTMAX - value : 0;
    }
    return 0;
}

}  // namespace

int signal_number(v1::Signal signal) {
    if (signal == v1::RUNTIME_DEFAULT)
        return 0;
    if (!v1::Signal_IsValid(signal))
        return -1;
    if (signal >= kCriRtMin && signal <= kCriRtMinPlusLast)
        return SIGRTMIN + (signal - kCriRtMin);
    if (signal >= kCriRtMaxMinusFirst && signal <= kCriRtMax)
        return SIGRTMAX - (kCriRtMax - signal);
    // The rest are named as glibc names them, but for aliases: "SIGCLD",
    // "SIGIOT" and "SIGIO", whose names sigabbrev_np does not give.
    const std::string name = v1::Signal_Name(signal).substr(3);
    if (name == "CLD")
        return SIGCHLD;
    if (name == "IOT")
        return SIGABRT;
    if (name == "POLL" || name == "IO")
        return SIGIO;
    for (int number = 1; number < SIGRTMIN; ++number) {
        const char* abbreviation = sigabbrev_np(number);
        if (abbreviation != nullptr && name == abbreviation)
            return number;
    }
    return -1;
}

v1::Signal cri_signal(int number) {
    if (number >= SIGRTMIN && number - SIGRTMIN <= kCriRtMinPlusLast - kCriRtMin)
        return static_cast<v1::Signal>(kCriRtMin + (number - SIGRTMIN));
    if (number <= SIGRTMAX && SIGRTMAX - number <= kCriRtMax - kCriRtMaxMinusFirst)
        return static_cast<v1::Signal>(kCriRtMax - (SIGRTMAX - number));
    // glibc names 29 "POLL"; the CRI's name for it is SIGIO (SIGPOLL too).
    const char* abbreviation = number == SIGIO                   ? "IO"
                               : number > 0 && number < SIGRTMIN ? sigabbrev_np(number)
                                                                 : nullptr;
    v1::Signal signal = v1::RUNTIME_DEFAULT;
    if (abbreviation != nullptr && v1::Signal_Parse(std::string("SIG") + abbreviation, &signal))
        return signal;
    return v1::RUNTIME_DEFAULT;
}

int stop_signal_number(const std::string& text) {
    if (text.empty())
        return SIGTERM;
    if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        int number = 0;
        const auto parsed = std::from_chars(text.data(), text.data() + text.size(), number);
        if (parsed.ec == std::errc() && number > 0 && number <= SIGRTMAX)
            return number;
    } else {
        const std::string name = text.rfind("SIG", 0) == 0 ? text.substr(3) : text;
        if (const int realtime = realtime_number(name); realtime > 0)
            return realtime;
        v1::Signal signal = v1::RUNTIME_DEFAULT;
        if (v1::Signal_Parse("SIG" + name, &signal) && signal_number(signal) > 0)
            return signal_number(signal);
    }
    spdlog::warn("unknown stop signal \"{}\", using SIGTERM", text);
    return SIGTERM;
}

std::string stop_signal_in_force(v1::Signal configured, const std::string& image_signal) {
    const int number = signal_number(configured);
    if (number < 0) {
        throw invalid_argument("config.stop_signal " + std::to_string(configured) +
                               " is not a signal");
    }
    if (number == 0)
        return image_signal;
    return v1::Signal_Name(configured);
}

}  // namespace berth::daemon::container
