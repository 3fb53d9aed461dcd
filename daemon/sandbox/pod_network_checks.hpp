// The parts of a PodSandboxConfig that end up in the pod's resolv.conf and in
// the CNI plugins' arguments, checked before anything is made: a newline in a
// DNS search domain would become a line of resolv.conf of its own, a port out
// of range a rule the plugin refuses half-way, a ';' in the pod's name an
// argument of the caller's choosing in CNI_ARGS.
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

// Throws StatusError(INVALID_ARGUMENT) naming the field: a metadata name,
// namespace or uid holding ';' or '='. They become values of CNI_ARGS
// ("K8S_POD_NAME=<name>;..."), which plugins split at ';' and '=': a name
// "web;IP=10.0.0.5" would ask host-local for an address of its choosing.
// Kubernetes allows neither character in these fields.
void check_cni_args_metadata(const runtime::v1::PodSandboxConfig& config);

}  // namespace berth::daemon::sandbox
