// CRI label selectors: every key=value of the selector must be among the
// object's labels.
#pragma once

#include <string>

#include <google/protobuf/map.h>

namespace berth::daemon::server {

inline bool labels_match(const google::protobuf::Map<std::string, std::string>& labels,
                         const google::protobuf::Map<std::string, std::string>& selector) {
    for (const auto& [key, value] : selector) {
        const auto found = labels.find(key);
        if (found == labels.end() || found->second != value)
            return false;
    }
    return true;
}

}  // namespace berth::daemon::server
