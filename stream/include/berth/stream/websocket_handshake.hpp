// The key exchange of the WebSocket opening handshake (RFC 6455 section 4):
// the client sends a random Sec-WebSocket-Key, the server proves it speaks
// WebSocket by answering with Sec-WebSocket-Accept derived from it.
#pragma once

#include <string>
#include <string_view>

namespace berth::stream {

inline constexpr std::string_view kWebSocketKeyHeader = "Sec-WebSocket-Key";
inline constexpr std::string_view kWebSocketAcceptHeader = "Sec-WebSocket-Accept";
inline constexpr std::string_view kWebSocketVersionHeader = "Sec-WebSocket-Version";
inline constexpr std::string_view kWebSocketVersion = "13";

// base64(SHA-1(client_key + the RFC's GUID)), the server's answer.
std::string websocket_accept_key(std::string_view client_key);

// 16 random bytes, base64: a fresh Sec-WebSocket-Key for a client.
std::string make_websocket_key();

// Whether a client's key is what the RFC requires: base64 of exactly 16
// bytes. A server should refuse the upgrade otherwise.
bool is_valid_websocket_key(std::string_view client_key);

}  // namespace berth::stream
