#include "berth/stream/websocket_handshake.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>

namespace berth::stream {

namespace {

// RFC 6455 section 1.3: a GUID no endpoint that is not WebSocket would use.
constexpr std::string_view kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr std::size_t kKeyBytes = 16;

std::string base64(const unsigned char* data, std::size_t size) {
    std::string out(4 * ((size + 2) / 3), '\0');
    const int written =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
    out.resize(static_cast<std::size_t>(written));
    return out;
}

}  // namespace

std::string websocket_accept_key(std::string_view client_key) {
    std::string input(client_key);
    input.append(kWebSocketGuid);
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int digest_size = 0;
    if (EVP_Digest(input.data(), input.size(), digest.data(), &digest_size, EVP_sha1(), nullptr) !=
        1) {
        throw std::runtime_error("OpenSSL SHA-1 failed");
    }
    return base64(digest.data(), digest_size);
}

std::string make_websocket_key() {
    std::array<unsigned char, kKeyBytes> nonce{};
    if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1) {
        throw std::runtime_error("OpenSSL random generator failed");
    }
    return base64(nonce.data(), nonce.size());
}

bool is_valid_websocket_key(std::string_view client_key) {
    // 16 bytes encode as 22 characters and two '=' of padding.
    if (client_key.size() != 24 || client_key.substr(22) != "==") {
        return false;
    }
    std::array<unsigned char, 18> decoded{};
    // EVP_DecodeBlock refuses characters outside the alphabet with -1; it
    // counts the padding as zero bytes, hence 18.
    return EVP_DecodeBlock(decoded.data(),
                           reinterpret_cast<const unsigned char*>(client_key.data()),
                           static_cast<int>(client_key.size())) == 18;
}

}  // namespace berth::stream
