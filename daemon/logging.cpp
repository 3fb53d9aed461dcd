#include "logging.hpp"

#include <unistd.h>

#include <cstdlib>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>

#include "journal_stream.hpp"

namespace berth::daemon {

spdlog::level::level_enum parse_log_level(const std::string& level) {
    if (level == "warning") {
        return spdlog::level::warn;
    }
    if (level == "fatal") {
        return spdlog::level::critical;
    }
    return spdlog::level::from_str(level);
}

void setup_logging(const config::Config& config) {
    std::shared_ptr<spdlog::logger> logger;
    // Under systemd stderr is the journal's stream, where a warning would
    // come out as info: talk to the journal itself, as systemd advises.
    const bool native_journal = config.log_target == config::LogTarget::Journald ||
                                is_journal_stream(STDERR_FILENO, std::getenv("JOURNAL_STREAM"));
    if (native_journal) {
        // journald stamps time and priority itself: the sink sends the bare
        // message with the matching syslog priority.
        logger = std::make_shared<spdlog::logger>(
            "berthd", std::make_shared<spdlog::sinks::systemd_sink_mt>("berthd"));
    } else {
        logger = std::make_shared<spdlog::logger>(
            "berthd", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%f%z %^%-5l%$ %v");
    }
    logger->set_level(parse_log_level(config.log_level));
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(std::move(logger));
}

}  // namespace berth::daemon
