#pragma once

#include "berth/config/config.hpp"
#include "origins.hpp"

namespace berth::config {

// Checks every value, fills in the values derived from others (the socket and
// runtime state directories under runroot) and normalises capability names.
// Throws ConfigError naming where the first bad value was set.
void validate_and_resolve(Config& config, const Origins& origins);

}  // namespace berth::config
