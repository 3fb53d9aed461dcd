// The one header through which Berth's code includes the generated messages
// of the containerd shim v2 task API (containerd::task::v2), its runc options
// (containerd::runc::v1::Options) and the ttrpc envelope (::ttrpc::Request,
// ::ttrpc::Response). Link berth_shim_proto.
//
// Unlike the CRI's, these messages declare no enum value named after a
// signal, so <signal.h> and the generated headers coexist without help.
#pragma once

#include "containerd/events/events.pb.h"            // IWYU pragma: export
#include "containerd/events/task/task_events.pb.h"  // IWYU pragma: export
#include "containerd/runc/options/oci.pb.h"         // IWYU pragma: export
#include "containerd/runtimeoptions/v1/api.pb.h"    // IWYU pragma: export
#include "containerd/task/v2/shim.pb.h"             // IWYU pragma: export
#include "ttrpc/ttrpc.pb.h"                         // IWYU pragma: export
