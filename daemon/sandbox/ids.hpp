// Object ids: 64 lowercase hex characters from the kernel's random source, as
// CRI-O and containerd make them, and lookup by unique prefix as crictl users
// expect.
#pragma once

#include <string>

namespace berth::daemon {

std::string new_id();
bool is_hex_id_prefix(const std::string& text);

}  // namespace berth::daemon
