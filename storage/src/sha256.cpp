#include "berth/storage/sha256.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace berth::storage {

struct Sha256::State {
    EVP_MD_CTX* context = nullptr;
    ~State() { EVP_MD_CTX_free(context); }
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
    state_->context = EVP_MD_CTX_new();
    if (state_->context == nullptr ||
        EVP_DigestInit_ex(state_->context, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("sha256: cannot initialise the OpenSSL digest");
    }
}

Sha256::~Sha256() = default;

void Sha256::update(const void* data, std::size_t size) {
    if (EVP_DigestUpdate(state_->context, data, size) != 1) {
        throw std::runtime_error("sha256: digest update failed");
    }
}

std::string Sha256::digest() {
    unsigned char raw[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(state_->context, raw, &length) != 1) {
        throw std::runtime_error("sha256: digest final failed");
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string text = "sha256:";
    for (unsigned int i = 0; i < length; ++i) {
        text += hex[raw[i] >> 4];
        text += hex[raw[i] & 0xf];
    }
    return text;
}

std::string digest_hex(const std::string& digest) {
    const auto colon = digest.find(':');
    return colon == std::string::npos ? digest : digest.substr(colon + 1);
}

}  // namespace berth::storage
