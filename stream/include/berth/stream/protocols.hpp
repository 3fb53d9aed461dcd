// The names kubelet's streaming API negotiates: the SPDY upgrade token, the
// remote-command and port-forward subprotocols, and the stream types that
// identify each SPDY stream (or WebSocket channel) of a session.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::stream {

inline constexpr std::string_view kSpdyUpgrade = "SPDY/3.1";
inline constexpr std::string_view kWebSocketUpgrade = "websocket";

// Remote command (exec, attach), newest first: the order a server prefers.
inline constexpr std::string_view kRemoteCommandV5 = "v5.channel.k8s.io";  // WebSocket only
inline constexpr std::string_view kRemoteCommandV4 = "v4.channel.k8s.io";
inline constexpr std::string_view kRemoteCommandV3 = "v3.channel.k8s.io";
inline constexpr std::string_view kRemoteCommandV2 = "v2.channel.k8s.io";
inline constexpr std::string_view kRemoteCommandV1 = "channel.k8s.io";
inline constexpr std::string_view kPortForwardV1 = "portforward.k8s.io";
inline constexpr std::string_view kPortForwardWebSocketV4 = "v4.channel.k8s.io";

// SPDY stream headers of the remote-command and port-forward protocols.
inline constexpr std::string_view kStreamTypeHeader = "streamtype";
inline constexpr std::string_view kPortHeader = "port";
inline constexpr std::string_view kRequestIdHeader = "requestid";

inline constexpr std::string_view kStreamTypeError = "error";
inline constexpr std::string_view kStreamTypeStdin = "stdin";
inline constexpr std::string_view kStreamTypeStdout = "stdout";
inline constexpr std::string_view kStreamTypeStderr = "stderr";
inline constexpr std::string_view kStreamTypeResize = "resize";
inline constexpr std::string_view kStreamTypeData = "data";

// The protocol version headers of the HTTP upgrade.
inline constexpr std::string_view kStreamProtocolHeader = "X-Stream-Protocol-Version";
inline constexpr std::string_view kWebSocketProtocolHeader = "Sec-WebSocket-Protocol";

// Splits a header value that may list several tokens ("a, b,c") and may
// appear several times, as HTTP allows.
std::vector<std::string> split_header_tokens(const std::vector<std::string>& values);

// The first of `supported` (in its order) that the client offered; nullopt
// when they share none.
std::optional<std::string> negotiate_protocol(const std::vector<std::string>& offered,
                                              const std::vector<std::string_view>& supported);

}  // namespace berth::stream
