// The parts of a PodSandboxConfig that end up in the pod's resolv.conf and in
// the portmap plugin's arguments, checked before anything is made: a newline
// in a DNS search domain would become a line of resolv.conf of its own, a
// port out of range a rule the plugin refuses half-way.
#pragma once

#include "berth/cri_api.hpp"

namespace berth::daemon::sandbox {

// Throws StatusError(INVALID_ARGUMENT) naming the field: servers that are
// not IPv4 or IPv6 addresses, searches and options that are empty, longer
// than 255 bytes or hold whitespace or control characters.
void check_dns_config(const runtime::v1::DNSConfig& dns);

// Throws StatusError(INVALID_ARGUMENT) naming the field: a container port
// outside 1..65535, a host port outside 0..65535 (0: none), an unknown
// protocol, a host IP that is not an address.
void check_port_mappings(const runtime::v1::PodSandboxConfig& config);

}  // namespace berth::daemon::sandbox
