#pragma once

#include "berth/config/config.hpp"
#include "origins.hpp"
#include "toml_document.hpp"

namespace berth::config {

// Copies every key of the merged document into `config` (whose existing
// values are the defaults), checking types and rejecting unknown keys.
void decode(const TomlValue& document, Config& config, Origins& origins);

}  // namespace berth::config
