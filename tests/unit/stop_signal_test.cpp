// The stop signal's conversions: CRI enum, image STOPSIGNAL text, numbers.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "container/stop_signal.hpp"
#include "status_error.hpp"

namespace berth::daemon::container {
namespace {

namespace v1 = runtime::v1;

v1::Signal named(const std::string& name) {
    v1::Signal signal = v1::RUNTIME_DEFAULT;
    EXPECT_TRUE(v1::Signal_Parse(name, &signal)) << name;
    return signal;
}

TEST(StopSignal, EveryEnumValueIsASignalAndBack) {
    for (int value = 1; value <= 65; ++value) {
        ASSERT_TRUE(v1::Signal_IsValid(value));
        const auto signal = static_cast<v1::Signal>(value);
        const int number = signal_number(signal);
        EXPECT_GT(number, 0) << v1::Signal_Name(signal);
        EXPECT_LE(number, SIGRTMAX) << v1::Signal_Name(signal);
        // The aliases come back as the kernel's own names.
        const std::string name = v1::Signal_Name(signal);
        if (name == "SIGCLD" || name == "SIGIOT" || name == "SIGPOLL")
            continue;
        EXPECT_EQ(cri_signal(number), signal) << name;
    }
}

TEST(StopSignal, NumbersAreTheKernels) {
    EXPECT_EQ(signal_number(named("SIGKILL")), 9);
    EXPECT_EQ(signal_number(named("SIGTERM")), 15);
    EXPECT_EQ(signal_number(named("SIGUSR1")), SIGUSR1);
    EXPECT_EQ(signal_number(named("SIGCLD")), SIGCHLD);
    EXPECT_EQ(signal_number(named("SIGIO")), SIGIO);
    EXPECT_EQ(signal_number(named("SIGPOLL")), SIGIO);
    EXPECT_EQ(cri_signal(SIGIO), named("SIGIO"));
    EXPECT_EQ(signal_number(named("SIGRTMIN")), SIGRTMIN);
    EXPECT_EQ(signal_number(named("SIGRTMINPLUS3")), SIGRTMIN + 3);
    EXPECT_EQ(signal_number(named("SIGRTMAXMINUS1")), SIGRTMAX - 1);
    EXPECT_EQ(signal_number(named("SIGRTMAX")), SIGRTMAX);
    EXPECT_EQ(signal_number(v1::RUNTIME_DEFAULT), 0);
    EXPECT_EQ(signal_number(static_cast<v1::Signal>(99)), -1);
    EXPECT_EQ(cri_signal(0), v1::RUNTIME_DEFAULT);
    EXPECT_EQ(cri_signal(SIGQUIT), named("SIGQUIT"));
}

TEST(StopSignal, ImageTextsAsImagesWriteThem) {
    EXPECT_EQ(stop_signal_number(""), SIGTERM);
    EXPECT_EQ(stop_signal_number("SIGINT"), SIGINT);
    EXPECT_EQ(stop_signal_number("QUIT"), SIGQUIT);
    EXPECT_EQ(stop_signal_number("2"), 2);
    EXPECT_EQ(stop_signal_number("SIGRTMIN+3"), SIGRTMIN + 3);
    EXPECT_EQ(stop_signal_number("RTMAX-2"), SIGRTMAX - 2);
    EXPECT_EQ(stop_signal_number("SIGWINCH"), SIGWINCH);
    // Unknown: SIGTERM, as Docker does.
    EXPECT_EQ(stop_signal_number("SIGNOPE"), SIGTERM);
    EXPECT_EQ(stop_signal_number("0"), SIGTERM);
    EXPECT_EQ(stop_signal_number("999"), SIGTERM);
    EXPECT_EQ(stop_signal_number("RTMIN+99"), SIGTERM);
}

TEST(StopSignal, TheConfigOverridesTheImage) {
    EXPECT_EQ(stop_signal_in_force(v1::RUNTIME_DEFAULT, "SIGINT"), "SIGINT");
    EXPECT_EQ(stop_signal_in_force(v1::RUNTIME_DEFAULT, ""), "");
    EXPECT_EQ(stop_signal_in_force(named("SIGUSR2"), "SIGINT"), "SIGUSR2");
    EXPECT_EQ(stop_signal_number(stop_signal_in_force(named("SIGRTMINPLUS2"), "")), SIGRTMIN + 2);
    try {
        stop_signal_in_force(static_cast<v1::Signal>(99), "");
        ADD_FAILURE() << "a value outside the enum was taken";
    } catch (const StatusError& error) {
        EXPECT_EQ(error.code(), grpc::StatusCode::INVALID_ARGUMENT);
        EXPECT_NE(std::string(error.what()).find("config.stop_signal"), std::string::npos);
    }
}

}  // namespace
}  // namespace berth::daemon::container
