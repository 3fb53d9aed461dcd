#include "berth/stream/spdy_header_block.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <climits>

#include "berth/stream/spdy_frame.hpp"

namespace berth::stream {
namespace {

// The SPDY/3 dictionary is a list of length-prefixed words (4-byte big-endian
// lengths, like a header block) followed by a run of common value fragments.
// Built from its parts rather than written out as 1423 opaque bytes; the unit
// tests pin the result to the dictionary id every SPDY/3 stream carries.
constexpr std::array<std::string_view, 65> kDictionaryWords = {
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
};

constexpr std::string_view kDictionaryTail =
    "100101201202205206300302303304305306307"
    "402405406407408409410411412413414415416417"
    "502504505"
    "203 Non-Authoritative Information"
    "204 No Content"
    "301 Moved Permanently"
    "400 Bad Request"
    "401 Unauthorized"
    "403 Forbidden"
    "404 Not Found"
    "500 Internal Server Error"
    "501 Not Implemented"
    "503 Service Unavailable"
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec"
    " 00:00:00"
    " Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
    "chunked,text/html,image/png,image/jpg,image/gif,"
    "application/xml,application/xhtml+xml,text/plain,text/javascript,"
    "publicprivatemax-age=gzip,deflate,sdch"
    "charset=utf-8charset=iso-8859-1,utf-,*,enq=0.";

// Chromium's choice: header blocks are small, and a 2 KiB window still covers
// the 1423-byte dictionary, so a session's compressor costs ~10 KiB, not 256.
constexpr int kCompressorWindowBits = 11;
constexpr int kCompressorMemLevel = 1;
// The decompressor must accept whatever window the peer chose.
constexpr int kDecompressorWindowBits = 15;

void put_u32(std::string& out, std::uint32_t value) {
    out.push_back(static_cast<char>(value >> 24));
    out.push_back(static_cast<char>(value >> 16));
    out.push_back(static_cast<char>(value >> 8));
    out.push_back(static_cast<char>(value));
}

std::string lower_ascii(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

const Bytef* dictionary_bytes() {
    return reinterpret_cast<const Bytef*>(spdy_header_dictionary().data());
}

uInt dictionary_size() {
    return static_cast<uInt>(spdy_header_dictionary().size());
}

// Reads the big-endian fields of an uncompressed block, failing cleanly at
// its end instead of reading past it.
class BlockReader {
public:
    explicit BlockReader(std::string_view block) : block_(block) {}

    std::uint32_t u32(const char* what) {
        need(4, what);
        std::uint32_t value = 0;
        for (int i = 0; i < 4; ++i) {
            value = value << 8 | static_cast<unsigned char>(block_[at_ + i]);
        }
        at_ += 4;
        return value;
    }
    std::string_view bytes(std::size_t length, const char* what) {
        need(length, what);
        std::string_view out = block_.substr(at_, length);
        at_ += length;
        return out;
    }
    std::size_t remaining() const { return block_.size() - at_; }

private:
    void need(std::size_t length, const char* what) {
        if (remaining() < length) {
            throw SpdyHeaderBlockError(std::string("SPDY header block truncated in ") + what);
        }
    }

    std::string_view block_;
    std::size_t at_ = 0;
};

}  // namespace

std::string_view spdy_header_dictionary() {
    static const std::string dictionary = [] {
        std::string out;
        for (auto word : kDictionaryWords) {
            put_u32(out, static_cast<std::uint32_t>(word.size()));
            out += word;
        }
        out += kDictionaryTail;
        return out;
    }();
    return dictionary;
}

std::string encode_spdy_header_block(const SpdyHeaders& headers) {
    // Merged in order of first appearance; a vector keeps that order, and
    // header counts are small enough for a linear search.
    std::vector<std::pair<std::string, std::string>> merged;
    for (const auto& [name, value] : headers) {
        if (name.empty())
            throw SpdyHeaderBlockError("SPDY header with an empty name");
        if (name.find('\0') != std::string::npos || value.find('\0') != std::string::npos) {
            throw SpdyHeaderBlockError("SPDY header " + lower_ascii(name) + " contains NUL");
        }
        std::string lower = lower_ascii(name);
        auto it = std::find_if(merged.begin(), merged.end(),
                               [&](const auto& entry) { return entry.first == lower; });
        if (it == merged.end()) {
            merged.emplace_back(std::move(lower), value);
        } else {
            it->second.push_back('\0');
            it->second += value;
        }
    }
    std::string block;
    put_u32(block, static_cast<std::uint32_t>(merged.size()));
    for (const auto& [name, value] : merged) {
        put_u32(block, static_cast<std::uint32_t>(name.size()));
        block += name;
        put_u32(block, static_cast<std::uint32_t>(value.size()));
        block += value;
    }
    return block;
}

SpdyHeaders decode_spdy_header_block(std::string_view block) {
    BlockReader reader(block);
    std::uint32_t count = reader.u32("the entry count");
    // Each entry takes at least 8 bytes (two lengths), which bounds what a
    // hostile count can make us reserve.
    if (count > reader.remaining() / 8) {
        throw SpdyHeaderBlockError("SPDY header block claims " + std::to_string(count) +
                                   " entries in " + std::to_string(reader.remaining()) + " bytes");
    }
    SpdyHeaders headers;
    headers.reserve(count);
    for (std::uint32_t i = 0; i < count; ++i) {
        std::string_view name = reader.bytes(reader.u32("a name length"), "a name");
        if (name.empty())
            throw SpdyHeaderBlockError("SPDY header block with an empty name");
        std::string_view value = reader.bytes(reader.u32("a value length"), "a value");
        std::string lower = lower_ascii(name);
        for (;;) {
            std::size_t nul = value.find('\0');
            headers.emplace_back(lower, std::string(value.substr(0, nul)));
            if (nul == std::string_view::npos)
                break;
            value.remove_prefix(nul + 1);
        }
    }
    if (reader.remaining() != 0) {
        throw SpdyHeaderBlockError("SPDY header block has " + std::to_string(reader.remaining()) +
                                   " bytes after its last entry");
    }
    return headers;
}

struct SpdyHeaderCompressor::Zlib {
    z_stream stream{};
};

SpdyHeaderCompressor::SpdyHeaderCompressor() : zlib_(std::make_unique<Zlib>()) {
    if (deflateInit2(&zlib_->stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kCompressorWindowBits,
                     kCompressorMemLevel, Z_DEFAULT_STRATEGY) != Z_OK) {
        throw std::runtime_error("zlib deflateInit2 failed");
    }
    if (deflateSetDictionary(&zlib_->stream, dictionary_bytes(), dictionary_size()) != Z_OK) {
        deflateEnd(&zlib_->stream);
        throw std::runtime_error("zlib deflateSetDictionary failed");
    }
}

SpdyHeaderCompressor::~SpdyHeaderCompressor() {
    deflateEnd(&zlib_->stream);
}

std::string SpdyHeaderCompressor::compress(std::string_view block) {
    if (block.size() > UINT_MAX)
        throw std::invalid_argument("SPDY header block too large");
    z_stream& stream = zlib_->stream;
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(block.data()));
    stream.avail_in = static_cast<uInt>(block.size());
    std::string out;
    std::array<unsigned char, 4096> chunk;
    // Z_SYNC_FLUSH until zlib leaves output space unused: only then has it
    // written everything, including the empty stored block ending the flush.
    do {
        stream.next_out = chunk.data();
        stream.avail_out = static_cast<uInt>(chunk.size());
        int result = deflate(&stream, Z_SYNC_FLUSH);
        if (result != Z_OK && result != Z_BUF_ERROR) {
            throw std::runtime_error("zlib deflate failed: " + std::to_string(result));
        }
        out.append(reinterpret_cast<const char*>(chunk.data()), chunk.size() - stream.avail_out);
    } while (stream.avail_out == 0);
    return out;
}

struct SpdyHeaderDecompressor::Zlib {
    z_stream stream{};
};

SpdyHeaderDecompressor::SpdyHeaderDecompressor(std::size_t max_block_size)
    : zlib_(std::make_unique<Zlib>()), max_block_size_(max_block_size) {
    if (inflateInit2(&zlib_->stream, kDecompressorWindowBits) != Z_OK) {
        throw std::runtime_error("zlib inflateInit2 failed");
    }
}

SpdyHeaderDecompressor::~SpdyHeaderDecompressor() {
    inflateEnd(&zlib_->stream);
}

std::string SpdyHeaderDecompressor::decompress(std::string_view compressed) {
    if (failed_)
        throw SpdyProtocolError("SPDY header decompression used after an error");
    if (compressed.size() > UINT_MAX)
        throw SpdyProtocolError("SPDY header block too large");
    z_stream& stream = zlib_->stream;
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
    stream.avail_in = static_cast<uInt>(compressed.size());
    auto fail = [&](const std::string& why) {
        failed_ = true;
        stream.next_in = nullptr;
        stream.avail_in = 0;
        throw SpdyProtocolError("SPDY header block: " + why);
    };

    std::string out;
    std::array<unsigned char, 4096> chunk;
    for (;;) {
        stream.next_out = chunk.data();
        stream.avail_out = static_cast<uInt>(chunk.size());
        int result = inflate(&stream, Z_SYNC_FLUSH);
        std::size_t produced = chunk.size() - stream.avail_out;
        if (out.size() + produced > max_block_size_) {
            fail("decompresses to more than " + std::to_string(max_block_size_) + " bytes");
        }
        out.append(reinterpret_cast<const char*>(chunk.data()), produced);
        if (result == Z_NEED_DICT) {
            // zlib reports the dictionary id the stream asks for in `adler`.
            if (stream.adler !=
                adler32(adler32(0, nullptr, 0), dictionary_bytes(), dictionary_size())) {
                fail("compressed with an unknown dictionary");
            }
            if (inflateSetDictionary(&stream, dictionary_bytes(), dictionary_size()) != Z_OK) {
                fail("zlib rejected the dictionary");
            }
            continue;
        }
        if (result == Z_STREAM_END)
            fail("the peer ended its compression stream");
        if (result == Z_BUF_ERROR) {
            // No progress possible: done when all input is used, since output
            // space was available.
            if (stream.avail_in == 0)
                break;
            fail("zlib could not progress");
        }
        if (result != Z_OK) {
            fail(std::string("zlib error: ") + (stream.msg != nullptr ? stream.msg : "unknown"));
        }
        if (stream.avail_in == 0 && stream.avail_out != 0)
            break;
    }
    stream.next_in = nullptr;
    stream.avail_in = 0;
    return out;
}

}  // namespace berth::stream
