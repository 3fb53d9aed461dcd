#include "metrics/exposition.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace berth::daemon::metrics {

void Histogram::observe(double value) {
    const auto bucket = std::lower_bound(bounds->begin(), bounds->end(), value);
    if (bucket != bounds->end())
        ++counts[static_cast<std::size_t>(bucket - bounds->begin())];
    ++count;
    sum += value;
}

std::string format_value(double value) {
    if (std::isnan(value))
        return "NaN";
    if (std::isinf(value))
        return value > 0 ? "+Inf" : "-Inf";
    // Integers below 2^53 are exact: no exponent, no fraction.
    if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0)
        return std::to_string(static_cast<long long>(value));
    // %g's rule with the fewest digits that read back exactly: "0.0005",
    // "1e-05", "1e+300", as Go's clients spell them.
    char buffer[64];
    const auto result =
        std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::general);
    return std::string(buffer, result.ptr);
}

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string escape_help(std::string_view help) {
    std::string out;
    out.reserve(help.size());
    for (const char c : help) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

void TextWriter::family(std::string_view name, std::string_view type, std::string_view help) {
    text_ += "# HELP ";
    text_ += name;
    text_ += ' ';
    text_ += escape_help(help);
    text_ += "\n# TYPE ";
    text_ += name;
    text_ += ' ';
    text_ += type;
    text_ += '\n';
}

void TextWriter::sample(std::string_view name, const Labels& labels, double value) {
    text_ += name;
    if (!labels.empty()) {
        text_ += '{';
        bool first = true;
        for (const auto& [label, label_value] : labels) {
            if (!first)
                text_ += ',';
            first = false;
            text_ += label;
            text_ += "=\"";
            text_ += escape_label_value(label_value);
            text_ += '"';
        }
        text_ += '}';
    }
    text_ += ' ';
    text_ += format_value(value);
    text_ += '\n';
}

void TextWriter::histogram(std::string_view name, const Labels& labels,
                           const Histogram& histogram) {
    const std::string bucket = std::string(name) + "_bucket";
    std::uint64_t cumulative = 0;
    Labels with_le = labels;
    with_le.emplace_back("le", "");
    for (std::size_t i = 0; i < histogram.bounds->size(); ++i) {
        cumulative += histogram.counts[i];
        with_le.back().second = format_value((*histogram.bounds)[i]);
        sample(bucket, with_le, static_cast<double>(cumulative));
    }
    with_le.back().second = "+Inf";
    sample(bucket, with_le, static_cast<double>(histogram.count));
    sample(std::string(name) + "_sum", labels, histogram.sum);
    sample(std::string(name) + "_count", labels, static_cast<double>(histogram.count));
}

}  // namespace berth::daemon::metrics
