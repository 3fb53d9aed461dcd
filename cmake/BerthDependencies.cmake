# Every dependency comes from a Debian 12 package (contrib/install-deps.sh).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

# gRPC and protobuf through pkg-config: Debian's gRPC CMake package drags in
# modules (c-ares, re2) that are not always complete, pkg-config files are.
pkg_check_modules(GRPCPP REQUIRED IMPORTED_TARGET grpc++)
pkg_check_modules(PROTOBUF REQUIRED IMPORTED_TARGET protobuf)
pkg_check_modules(LIBSYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
pkg_check_modules(LIBSECCOMP REQUIRED IMPORTED_TARGET libseccomp)
# The HTTP side of the streaming server and of the metrics endpoint.
pkg_check_modules(LIBMICROHTTPD REQUIRED IMPORTED_TARGET libmicrohttpd)
find_package(ZLIB REQUIRED)
find_package(OpenSSL REQUIRED)

find_program(PROTOC_EXECUTABLE protoc REQUIRED)
find_program(GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

find_package(toml11 REQUIRED)
find_package(spdlog REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(CLI11 REQUIRED)
find_package(yaml-cpp REQUIRED)
