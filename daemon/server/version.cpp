#include "berth/version.hpp"
#include "server/runtime_service.hpp"

namespace berth::daemon::server {

// The "version" field is the CRI API version in kubelet's old sense; every CRI
// runtime answers 0.1.0 there, and the API generation in runtime_api_version.
grpc::Status CriRuntimeService::Version(grpc::ServerContext*, const v1::VersionRequest*,
                                        v1::VersionResponse* response) {
    response->set_version("0.1.0");
    response->set_runtime_name("berth");
    response->set_runtime_version(berth::kVersion);
    response->set_runtime_api_version("v1");
    return grpc::Status::OK;
}

}  // namespace berth::daemon::server
