// Reading a container log in the CRI format the way kubelet does: the text of
// one stream's records, partial (P) pieces joined to the next record. A line
// that is no CRI record fails the calling test.
#pragma once

#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <string>

namespace berth::test {

// A timestamp as RFC 3339 with nanoseconds (Go's RFC3339Nano trims zeros).
inline constexpr const char* kCriLogTimestamp =
    R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d))";

inline std::string cri_log_text(const std::string& log, const std::string& stream) {
    static const std::regex record(std::string("^") + kCriLogTimestamp +
                                   R"( (stdout|stderr) ([PF]) (.*)$)");
    std::string text;
    std::istringstream lines(log);
    std::string line;
    while (std::getline(lines, line)) {
        std::smatch match;
        if (!std::regex_match(line, match, record)) {
            ADD_FAILURE() << "not a CRI log line: " << line.substr(0, 200);
            continue;
        }
        if (match[1] != stream)
            continue;
        text += match[3].str();
        if (match[2] == "F")
            text += "\n";
    }
    return text;
}

}  // namespace berth::test
