// Prometheus text exposition format 0.0.4: "# HELP" and "# TYPE" lines, then
// the family's samples, one family after another. Escaping and number
// spelling follow the format's rules, so that any scraper (and promtool)
// reads what this writes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::daemon::metrics {

inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

using Labels = std::vector<std::pair<std::string, std::string>>;

// Observations counted into fixed buckets (upper bounds, ascending; +Inf is
// implied). Not thread-safe: its owner locks.
struct Histogram {
    explicit Histogram(const std::vector<double>& upper_bounds)
        : bounds(&upper_bounds), counts(upper_bounds.size(), 0) {}
    void observe(double value);

    const std::vector<double>* bounds;
    std::vector<std::uint64_t> counts;  // per bucket, not cumulative
    std::uint64_t count = 0;
    double sum = 0;
};

class TextWriter {
public:
    // Starts a family; its samples must follow before the next family().
    // `type` is "counter", "gauge" or "histogram".
    void family(std::string_view name, std::string_view type, std::string_view help);
    void sample(std::string_view name, const Labels& labels, double value);
    // name_bucket (cumulative, le="+Inf" last), name_sum and name_count.
    void histogram(std::string_view name, const Labels& labels, const Histogram& histogram);

    const std::string& text() const { return text_; }

private:
    std::string text_;
};

// A number as the format spells it: integers without a fraction, "+Inf",
// "-Inf", "NaN", else the shortest text that reads back as the same double.
std::string format_value(double value);
// A label value with \, " and newlines escaped.
std::string escape_label_value(std::string_view value);
// HELP text with \ and newlines escaped.
std::string escape_help(std::string_view help);

}  // namespace berth::daemon::metrics
