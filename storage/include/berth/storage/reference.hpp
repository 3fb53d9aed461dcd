// Image references as users write them ("busybox", "registry:5000/ns/app@sha256:...")
// parsed with the grammar of github.com/distribution/reference, so that a name
// that works with docker, containerd or CRI-O means the same image here.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace berth::storage {

// A reference that cannot name an image; the message says which part is wrong.
class ReferenceError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

struct Reference {
    std::string registry;    // "docker.io", "127.0.0.1:5000", "localhost", "[::1]:5000"
    std::string repository;  // "library/busybox", "e2e-test-images/busybox"
    std::string tag;         // empty when only a digest was given
    std::string digest;      // "sha256:<64 hex>" or empty

    std::string name() const;       // registry/repository
    std::string tagged() const;     // name():tag, "" without a tag
    std::string digested() const;   // name()@digest, "" without a digest
    std::string to_string() const;  // name()[:tag][@digest]

    bool operator==(const Reference&) const = default;
};

// Parses a reference and returns the images it may name, in the order to try
// them. A name whose first path component contains '.' or ':' or is
// "localhost" is qualified and yields one candidate. (distribution also takes
// a first component with an uppercase letter for a host; Berth reports "must
// be lowercase" instead, which is what such a user almost always meant.)
// Any other name is short and is qualified with each of
// `search_registries` in order (an empty list means {"docker.io"}); on
// docker.io a single-component repository gets "library/". Without a tag and
// a digest the tag is "latest". "index.docker.io" is normalised to
// "docker.io". Throws ReferenceError naming what is wrong.
std::vector<Reference> resolve_reference(std::string_view text,
                                         const std::vector<std::string>& search_registries = {});

// The first candidate of resolve_reference with the default search list.
Reference parse_reference(std::string_view text);

// "sha256:<64 lowercase hex>".
bool is_digest(std::string_view text);

// A digest Berth can verify: "sha256:<64 lowercase hex>" or "sha512:<128 lowercase hex>".
bool is_supported_digest(std::string_view text);

// 64 lowercase hex, optionally prefixed with "sha256:".
bool is_image_id(std::string_view text);

}  // namespace berth::storage
