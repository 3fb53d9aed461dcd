// Fuzz target: arbitrary bytes into the WebSocket frame decoder, in both
// roles, fed whole and in pieces. Beyond "no crash, no unbounded memory" it
// checks what the connection relies on: every frame it returns obeys the
// RFC's limits, splitting the input never changes the result, and a returned
// frame re-encodes to bytes that decode to the same frame.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "berth/stream/websocket_frame.hpp"

namespace {

using berth::stream::WebSocketFrame;
using berth::stream::WebSocketFrameDecoder;
using berth::stream::WebSocketMaskKey;
using berth::stream::WebSocketRole;

constexpr std::size_t kMaxPayload = 4096;

void require(bool condition) {
    if (!condition)
        std::abort();
}

struct Outcome {
    std::vector<WebSocketFrame> frames;
    bool failed = false;
};

void drain(WebSocketFrameDecoder& decoder, Outcome& outcome) {
    while (auto frame = decoder.next()) {
        require(frame->payload.size() <= kMaxPayload);
        if (berth::stream::is_control_opcode(frame->opcode)) {
            require(frame->fin);
            require(frame->payload.size() <= berth::stream::kMaxControlPayload);
        }
        outcome.frames.push_back(std::move(*frame));
    }
    outcome.failed = decoder.failed();
}

Outcome decode(WebSocketRole role, std::string_view input, std::size_t chunk) {
    WebSocketFrameDecoder decoder(role, kMaxPayload);
    Outcome outcome;
    while (!input.empty()) {
        const std::string_view piece = input.substr(0, chunk);
        input.remove_prefix(piece.size());
        decoder.feed(piece);
        drain(decoder, outcome);
        // Never more buffered than one frame can need plus what came in.
        require(decoder.buffered() <= kMaxPayload + 14 + chunk);
    }
    return outcome;
}

bool same_frame(const WebSocketFrame& a, const WebSocketFrame& b) {
    return a.fin == b.fin && a.opcode == b.opcode && a.payload == b.payload;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    for (WebSocketRole role : {WebSocketRole::Client, WebSocketRole::Server}) {
        const Outcome whole = decode(role, input, input.size() + 1);
        const std::size_t chunk = size == 0 ? 1 : 1 + data[size - 1] % 13;
        const Outcome pieces = decode(role, input, chunk);
        require(whole.failed == pieces.failed);
        require(whole.frames.size() == pieces.frames.size());
        for (std::size_t i = 0; i < whole.frames.size(); ++i) {
            require(same_frame(whole.frames[i], pieces.frames[i]));
        }
        // What the peer's encoder would send for the same frames decodes back.
        const WebSocketMaskKey key{0x12, 0x34, 0x56, 0x78};
        std::string wire;
        for (const auto& frame : whole.frames) {
            berth::stream::encode_websocket_frame(wire, frame.opcode, frame.payload, frame.fin,
                                                  role == WebSocketRole::Server ? &key : nullptr);
        }
        const Outcome again = decode(role, wire, wire.size() + 1);
        require(!again.failed && again.frames.size() == whole.frames.size());
        for (std::size_t i = 0; i < whole.frames.size(); ++i) {
            require(same_frame(whole.frames[i], again.frames[i]));
        }
    }
    // The helpers that see payload bytes directly.
    if (const auto status = berth::stream::parse_close_payload(input.substr(0, 125))) {
        require(berth::stream::is_valid_utf8(status->reason));
        require(berth::stream::is_sendable_close_code(status->code) ||
                status->code == berth::stream::close_code::kNoStatus);
    }
    return 0;
}
