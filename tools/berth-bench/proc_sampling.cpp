#include "proc_sampling.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <sstream>

namespace berth::bench {

namespace {

std::string proc_path(pid_t pid, const char* file) {
    return "/proc/" + std::to_string(pid) + "/" + file;
}

// The value in kB of the first "Name:   123 kB" line starting with `field`.
std::optional<long> field_kb(const std::string& text, const std::string& field) {
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(field, 0) == 0 && line.size() > field.size() && line[field.size()] == ':') {
            return std::stol(line.substr(field.size() + 1));
        }
    }
    return std::nullopt;
}

std::optional<std::string> read_whole(const std::string& path) {
    std::ifstream in(path);
    if (!in)
        return std::nullopt;
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
}

std::vector<std::string> command_line(pid_t pid) {
    std::vector<std::string> args;
    const auto raw = read_whole(proc_path(pid, "cmdline"));
    if (!raw)
        return args;
    std::string current;
    for (char c : *raw) {
        if (c == '\0') {
            args.push_back(current);
            current.clear();
        } else {
            current += c;
        }
    }
    if (!current.empty())
        args.push_back(current);
    return args;
}

bool program_matches(const std::string& program, const std::vector<std::string>& programs) {
    return std::any_of(programs.begin(), programs.end(), [&](const std::string& name) {
        return program == name || program.rfind(name + "-", 0) == 0;
    });
}

}  // namespace

std::optional<CpuTimes> cpu_times(pid_t pid) {
    const auto stat = read_whole(proc_path(pid, "stat"));
    if (!stat)
        return std::nullopt;
    // "pid (comm) state ...": comm may hold spaces and parentheses, so the
    // fields are counted from the last ')'. utime, stime, cutime and cstime
    // are fields 14 to 17, the 12th to 15th after it.
    const auto close = stat->rfind(')');
    if (close == std::string::npos)
        return std::nullopt;
    std::istringstream fields(stat->substr(close + 1));
    std::string skipped;
    for (int field = 3; field <= 13; ++field)
        fields >> skipped;
    long long utime = 0, stime = 0, cutime = 0, cstime = 0;
    if (!(fields >> utime >> stime >> cutime >> cstime))
        return std::nullopt;
    const double ms_per_tick = 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
    return CpuTimes{static_cast<double>(utime + stime) * ms_per_tick,
                    static_cast<double>(cutime + cstime) * ms_per_tick};
}

std::optional<long> vm_rss_kb(pid_t pid) {
    const auto status = read_whole(proc_path(pid, "status"));
    if (!status)
        return std::nullopt;
    return field_kb(*status, "VmRSS");
}

std::optional<MemoryFigures> memory_of(pid_t pid) {
    const auto rollup = read_whole(proc_path(pid, "smaps_rollup"));
    if (!rollup || rollup->empty())
        return std::nullopt;
    MemoryFigures figures;
    figures.rss_kb = field_kb(*rollup, "Rss").value_or(0);
    figures.pss_kb = field_kb(*rollup, "Pss").value_or(0);
    figures.anon_kb = field_kb(*rollup, "Anonymous").value_or(0);
    figures.uss_kb = field_kb(*rollup, "Private_Clean").value_or(0) +
                     field_kb(*rollup, "Private_Dirty").value_or(0);
    return figures;
}

std::string process_name(pid_t pid) {
    std::ifstream in(proc_path(pid, "comm"));
    std::string name;
    std::getline(in, name);
    return name;
}

std::vector<MonitorProcess> find_monitors(const std::vector<std::string>& programs,
                                          const std::set<std::string>& ids) {
    std::vector<MonitorProcess> found;
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr)
        return found;
    while (const dirent* entry = ::readdir(proc)) {
        const std::string name = entry->d_name;
        if (name.empty() ||
            !std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isdigit(c); }))
            continue;
        const pid_t pid = static_cast<pid_t>(std::stol(name));
        const auto args = command_line(pid);
        if (args.empty())
            continue;
        const std::string program = args[0].substr(args[0].rfind('/') + 1);
        if (!program_matches(program, programs))
            continue;
        if (std::none_of(args.begin() + 1, args.end(),
                         [&](const std::string& arg) { return ids.count(arg) != 0; }))
            continue;
        const auto memory = memory_of(pid);
        if (memory)
            found.push_back({pid, program, *memory});
    }
    ::closedir(proc);
    return found;
}

RssSampler::RssSampler(pid_t pid) : pid_(pid) {
    if (pid_ > 0)
        thread_ = std::thread([this] { loop(); });
}

RssSampler::~RssSampler() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
        thread_.join();
}

void RssSampler::sample_locked() {
    const auto rss = vm_rss_kb(pid_);
    if (!rss)
        return;
    if (window_.samples == 0)
        window_.start_kb = *rss;
    window_.max_kb = std::max(window_.max_kb, *rss);
    window_.end_kb = *rss;
    sum_kb_ += *rss;
    ++window_.samples;
}

void RssSampler::begin() {
    std::lock_guard lock(mutex_);
    window_ = {};
    sum_kb_ = 0;
    if (pid_ > 0)
        sample_locked();
}

RssSampler::Window RssSampler::end() {
    std::lock_guard lock(mutex_);
    if (pid_ > 0)
        sample_locked();
    Window result = window_;
    if (result.samples > 0)
        result.mean_kb = static_cast<long>(sum_kb_ / result.samples);
    return result;
}

void RssSampler::loop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        sample_locked();
        wake_.wait_for(lock, std::chrono::milliseconds(50), [this] { return stopping_; });
    }
}

}  // namespace berth::bench
