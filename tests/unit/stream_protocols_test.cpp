// The small pieces of kubelet's streaming protocols that both ends share:
// protocol negotiation, the v4 status on the error stream, resize messages.
#include <gtest/gtest.h>

#include "berth/stream/protocols.hpp"
#include "berth/stream/remote_command_status.hpp"

using namespace berth::stream;

TEST(StreamProtocols, HeaderTokensSplitAcrossValuesAndCommas) {
    const auto tokens =
        split_header_tokens({"v4.channel.k8s.io, v3.channel.k8s.io", " channel.k8s.io ", ""});
    ASSERT_EQ(tokens.size(), 3u);
    EXPECT_EQ(tokens[0], "v4.channel.k8s.io");
    EXPECT_EQ(tokens[1], "v3.channel.k8s.io");
    EXPECT_EQ(tokens[2], "channel.k8s.io");
}

TEST(StreamProtocols, TheServersOrderDecides) {
    const std::vector<std::string_view> supported = {kRemoteCommandV4, kRemoteCommandV3,
                                                     kRemoteCommandV1};
    EXPECT_EQ(negotiate_protocol({"channel.k8s.io", "v3.channel.k8s.io"}, supported),
              "v3.channel.k8s.io");
    EXPECT_EQ(negotiate_protocol({"v9.channel.k8s.io"}, supported), std::nullopt);
    EXPECT_EQ(negotiate_protocol({}, supported), std::nullopt);
}

TEST(StreamProtocols, ExitCodesTravelInTheV4Status) {
    const auto failed = parse_command_outcome(exit_code_status_json(3, "sh -c exit 3"), true);
    EXPECT_FALSE(failed.success);
    ASSERT_TRUE(failed.exit_code.has_value());
    EXPECT_EQ(*failed.exit_code, 3);
    EXPECT_NE(failed.message.find("exit code 3"), std::string::npos);

    const auto ok = parse_command_outcome(success_status_json(), true);
    EXPECT_TRUE(ok.success);
    EXPECT_FALSE(ok.exit_code.has_value());

    const auto broken = parse_command_outcome(failure_status_json("container is gone"), true);
    EXPECT_FALSE(broken.success);
    EXPECT_FALSE(broken.exit_code.has_value());
    EXPECT_EQ(broken.message, "container is gone");
}

TEST(StreamProtocols, KubeletsOwnStatusTextParses) {
    // As kubelet writes it (field order and all).
    const std::string kubelet =
        R"({"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [false], exit code 1","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"1"}]}})";
    const auto outcome = parse_command_outcome(kubelet, true);
    ASSERT_TRUE(outcome.exit_code.has_value());
    EXPECT_EQ(*outcome.exit_code, 1);
}

TEST(StreamProtocols, OlderProtocolsCarryPlainMessages) {
    EXPECT_TRUE(parse_command_outcome("", false).success);
    const auto failed = parse_command_outcome("something broke", false);
    EXPECT_FALSE(failed.success);
    EXPECT_EQ(failed.message, "something broke");
}

TEST(StreamProtocols, MalformedStatusIsAFailureNotACrash) {
    for (
        const char* text :
        {"{", "[]", "null", "\x01\x02",
         R"({"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"x"}]}})"}) {
        const auto outcome = parse_command_outcome(text, true);
        EXPECT_FALSE(outcome.success) << text;
        EXPECT_FALSE(outcome.exit_code.has_value()) << text;
    }
}

TEST(StreamProtocols, ResizeMessagesSurviveAnyChunking) {
    const std::string stream = encode_resize({80, 24}) + "\n" + encode_resize({132, 43});
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
        ResizeDecoder decoder;
        auto sizes = decoder.feed(std::string_view(stream).substr(0, cut));
        const auto rest = decoder.feed(std::string_view(stream).substr(cut));
        sizes.insert(sizes.end(), rest.begin(), rest.end());
        ASSERT_EQ(sizes.size(), 2u) << "cut at " << cut;
        EXPECT_EQ(sizes[0], (TerminalSize{80, 24}));
        EXPECT_EQ(sizes[1], (TerminalSize{132, 43}));
    }
}

TEST(StreamProtocols, BadResizeMessagesAreRefused) {
    for (const char* text : {"]", R"({"Width":-1,"Height":2})", R"({"Width":70000,"Height":2})",
                             "x{}", R"({"Width":"80"})"}) {
        ResizeDecoder decoder;
        EXPECT_THROW(decoder.feed(text), std::exception) << text;
    }
    ResizeDecoder endless;
    EXPECT_THROW(endless.feed("{" + std::string(2000, ' ')), std::runtime_error);
}
