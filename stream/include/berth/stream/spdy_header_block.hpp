// SPDY/3 name/value header blocks: the uncompressed layout (32-bit counts and
// lengths, lower-case names, several values of one name joined by NUL) and
// the zlib compression with the SPDY/3 dictionary that every header block on
// the wire goes through. Compression state spans the whole session, so a
// session keeps one compressor for what it sends and one decompressor for
// what it receives, and must feed them every header block in wire order.
#pragma once

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::stream {

// Header names are lower case. A name may appear several times: the block
// carries its values NUL-joined in one entry, in the order given.
using SpdyHeaders = std::vector<std::pair<std::string, std::string>>;

// The zlib preset dictionary of SPDY/3 (1423 bytes, Adler-32 0xe3c6a7c2).
std::string_view spdy_header_dictionary();

// A header block whose content is invalid (not its compression).
class SpdyHeaderBlockError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The uncompressed block. Names are lower-cased and values of repeated names
// merged, because SPDY forbids duplicate names (Go's spdystream rejects them).
// Throws SpdyHeaderBlockError for an empty name or a name or value with NUL.
std::string encode_spdy_header_block(const SpdyHeaders& headers);

// Parses an uncompressed block; NUL-joined values come back as separate
// pairs with the same name. Upper-case names are lower-cased. Throws
// SpdyHeaderBlockError for a truncated block, trailing bytes, an empty name
// or a count larger than the block can hold.
SpdyHeaders decode_spdy_header_block(std::string_view block);

// Compresses header blocks for one direction of a session.
class SpdyHeaderCompressor {
public:
    SpdyHeaderCompressor();
    ~SpdyHeaderCompressor();
    SpdyHeaderCompressor(const SpdyHeaderCompressor&) = delete;
    SpdyHeaderCompressor& operator=(const SpdyHeaderCompressor&) = delete;

    // The compressed block for one frame, ending with a zlib sync flush so
    // the peer can decode it without waiting for later frames.
    std::string compress(std::string_view block);
    std::string compress(const SpdyHeaders& headers) {
        return compress(encode_spdy_header_block(headers));
    }

private:
    struct Zlib;
    std::unique_ptr<Zlib> zlib_;
};

// Decompresses the header blocks one direction of a session receives.
class SpdyHeaderDecompressor {
public:
    // `max_block_size` bounds each decompressed block (decompression bombs).
    explicit SpdyHeaderDecompressor(std::size_t max_block_size = 256 * 1024);
    ~SpdyHeaderDecompressor();
    SpdyHeaderDecompressor(const SpdyHeaderDecompressor&) = delete;
    SpdyHeaderDecompressor& operator=(const SpdyHeaderDecompressor&) = delete;

    // The uncompressed block of one frame. Throws SpdyProtocolError when zlib
    // rejects the data, the dictionary is not SPDY/3's, or the block exceeds the
    // limit; the state is lost after any error, so the session must end.
    std::string decompress(std::string_view compressed);
    SpdyHeaders decompress_headers(std::string_view compressed) {
        return decode_spdy_header_block(decompress(compressed));
    }

private:
    struct Zlib;
    std::unique_ptr<Zlib> zlib_;
    std::size_t max_block_size_;
    bool failed_ = false;
};

}  // namespace berth::stream
