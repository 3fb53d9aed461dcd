// spdlog set-up for berthd: stderr by default, journald when configured or
// when stderr is the journal's stream anyway (berthd.service).
#pragma once

#include <string>

#include <spdlog/common.h>

#include "berth/config/config.hpp"

namespace berth::daemon {

// Maps a validated config level ("warning", "fatal", ...) to spdlog's.
spdlog::level::level_enum parse_log_level(const std::string& level);

// Installs the default logger for the whole process.
void setup_logging(const config::Config& config);

}  // namespace berth::daemon
