// Fuzzes the SPDY frame decoder and the header block decompressor and parser
// with arbitrary bytes: they must reject bad input with their exceptions,
// never crash or grow without bound, and every frame they accept must encode
// back to a frame that decodes the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "berth/stream/spdy_frame.hpp"
#include "berth/stream/spdy_header_block.hpp"

namespace {

using namespace berth::stream;

void check_round_trip(const SpdyFrame& frame) {
    SpdyFrameDecoder decoder;
    decoder.feed(encode_spdy_frame(frame));
    auto again = decoder.next();
    if (!again || !(*again == frame) || decoder.buffered() != 0)
        std::abort();
}

bool carries_headers(const SpdyFrame& frame) {
    return frame.type == SpdyFrameType::SynStream || frame.type == SpdyFrameType::SynReply ||
           frame.type == SpdyFrameType::Headers;
}

void decode_frames(std::string_view input) {
    // The first byte picks how the input is cut into reads, so that frames
    // split at every possible place get exercised.
    std::size_t piece = input.empty() ? 1 : static_cast<unsigned char>(input[0]) % 64 + 1;
    SpdyFrameDecoder decoder(64 * 1024);
    SpdyHeaderDecompressor decompressor(64 * 1024);
    bool headers_usable = true;
    try {
        for (std::size_t at = 0; at < input.size(); at += piece) {
            decoder.feed(input.substr(at, piece));
            while (auto frame = decoder.next()) {
                check_round_trip(*frame);
                if (!carries_headers(*frame) || !headers_usable)
                    continue;
                try {
                    decompressor.decompress_headers(frame->header_block);
                } catch (const SpdyHeaderBlockError&) {
                    // Valid compression, bad block: the next frames still decode.
                } catch (const SpdyProtocolError&) {
                    headers_usable = false;
                }
            }
            if (decoder.buffered() > 64 * 1024 + 8 + piece)
                std::abort();
        }
    } catch (const SpdyProtocolError&) {
    }
}

// Values grouped by name in order of first appearance: what a header block
// preserves, since encoding merges repeated names into one entry.
std::vector<std::pair<std::string, std::vector<std::string>>> grouped(const SpdyHeaders& headers) {
    std::vector<std::pair<std::string, std::vector<std::string>>> groups;
    for (const auto& [name, value] : headers) {
        auto it = groups.begin();
        while (it != groups.end() && it->first != name)
            ++it;
        if (it == groups.end())
            it = groups.insert(groups.end(), {name, {}});
        it->second.push_back(value);
    }
    return groups;
}

void decode_header_block(std::string_view input) {
    try {
        auto headers = decode_spdy_header_block(input);
        // What was accepted must encode again, with names and values intact.
        auto again = decode_spdy_header_block(encode_spdy_header_block(headers));
        if (grouped(again) != grouped(headers))
            std::abort();
    } catch (const SpdyHeaderBlockError&) {
    }
    SpdyHeaderDecompressor decompressor(64 * 1024);
    try {
        decompressor.decompress(input);
    } catch (const SpdyProtocolError&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    decode_frames(input);
    decode_header_block(input);
    return 0;
}
