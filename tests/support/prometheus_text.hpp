// A strict reader of the Prometheus text exposition format 0.0.4, for tests
// (Debian 12 has promtool only inside the 96 MB prometheus package). It
// accepts only what a well-behaved exporter writes and throws
// std::runtime_error naming the line for anything else:
//
//  * every line ends in '\n', the text too; no blank lines; "#" lines are
//    HELP or TYPE only;
//  * names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*
//    and do not start with "__"; label values use only \\, \" and \n as
//    escapes; no label twice in a sample, no trailing comma;
//  * HELP and TYPE at most once per family and before its samples; a
//    family's samples are contiguous; counters end in _total and are not
//    negative; gauge and counter samples carry the family's own name;
//  * values are floats (Go's syntax, or +Inf, -Inf, NaN); no timestamps;
//  * no series (name and label set) appears twice;
//  * histograms: _bucket samples with an "le" label in ascending order per
//    series, cumulative counts, a final le="+Inf" equal to _count, and _sum
//    and _count present.
#pragma once

#include <cmath>
#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace berth::test {

struct PromSample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

struct PromFamily {
    std::string type;  // counter, gauge, histogram, summary, untyped
    std::string help;
    std::vector<PromSample> samples;
};

class PromText {
public:
    // Throws std::runtime_error("line N: problem: <line>").
    static PromText parse(const std::string& text) {
        PromText result;
        result.read(text);
        return result;
    }

    const std::map<std::string, PromFamily>& families() const { return families_; }
    bool has(const std::string& family) const { return families_.count(family) != 0; }
    const PromFamily& family(const std::string& name) const {
        const auto it = families_.find(name);
        if (it == families_.end())
            throw std::runtime_error("no metric family " + name);
        return it->second;
    }
    // The value of the sample `name` with exactly these labels; NaN when absent.
    double value(const std::string& name, const std::map<std::string, std::string>& labels = {},
                 const std::string& family_name = "") const {
        for (const auto& [family_key, family] : families_) {
            if (!family_name.empty() && family_key != family_name)
                continue;
            for (const auto& sample : family.samples) {
                if (sample.name == name && sample.labels == labels)
                    return sample.value;
            }
        }
        return std::nan("");
    }

private:
    [[noreturn]] void fail(const std::string& problem) const {
        throw std::runtime_error("line " + std::to_string(line_number_) + ": " + problem + ": " +
                                 line_);
    }

    static bool valid_name(const std::string& name) {
        static const std::regex pattern("^[a-zA-Z_:][a-zA-Z0-9_:]*$");
        return std::regex_match(name, pattern);
    }
    static bool valid_label_name(const std::string& name) {
        static const std::regex pattern("^[a-zA-Z_][a-zA-Z0-9_]*$");
        return std::regex_match(name, pattern) && name.rfind("__", 0) != 0;
    }

    double parse_value(const std::string& text) const {
        if (text == "+Inf" || text == "Inf")
            return HUGE_VAL;
        if (text == "-Inf")
            return -HUGE_VAL;
        if (text == "NaN")
            return std::nan("");
        static const std::regex number(R"(^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$)");
        if (!std::regex_match(text, number))
            fail("not a float \"" + text + "\"");
        return std::strtod(text.c_str(), nullptr);
    }

    // The family a sample name belongs to, given the declared families.
    std::string family_of(const std::string& name) const {
        if (families_.count(name) != 0)
            return name;
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
            const std::string s = suffix;
            if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
                const std::string base = name.substr(0, name.size() - s.size());
                const auto it = families_.find(base);
                if (it != families_.end() &&
                    (it->second.type == "histogram" || it->second.type == "summary")) {
                    return base;
                }
            }
        }
        return name;
    }

    void read_comment() {
        static const std::regex help(R"(^# HELP (\S+) (.*)$)");
        static const std::regex type(R"(^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$)");
        std::smatch match;
        if (std::regex_match(line_, match, help)) {
            const std::string name = match[1];
            if (!valid_name(name))
                fail("bad metric name");
            enter_family(name);
            if (help_seen_.count(name) != 0)
                fail("second HELP");
            help_seen_.insert(name);
            const std::string text = match[2];
            for (std::size_t i = 0; i < text.size(); ++i) {
                if (text[i] == '\\' &&
                    (i + 1 >= text.size() || (text[i + 1] != '\\' && text[i + 1] != 'n')))
                    fail("bad escape in HELP");
                if (text[i] == '\\')
                    ++i;
            }
            families_[name].help = text;
            return;
        }
        if (std::regex_match(line_, match, type)) {
            const std::string name = match[1];
            if (!valid_name(name))
                fail("bad metric name");
            enter_family(name);
            if (!families_[name].type.empty())
                fail("second TYPE");
            if (!families_[name].samples.empty())
                fail("TYPE after samples");
            families_[name].type = match[2];
            if (match[2] == "counter" &&
                (name.size() < 6 || name.compare(name.size() - 6, 6, "_total") != 0)) {
                fail("counter name without _total");
            }
            return;
        }
        fail("a comment that is neither HELP nor TYPE");
    }

    // Families are contiguous: once left, a family may not come back.
    void enter_family(const std::string& name) {
        if (name == current_)
            return;
        if (finished_.count(name) != 0)
            fail("family " + name + " is not contiguous");
        if (!current_.empty())
            finished_.insert(current_);
        current_ = name;
    }

    void read_sample() {
        std::size_t pos = 0;
        while (pos < line_.size() && line_[pos] != '{' && line_[pos] != ' ')
            ++pos;
        PromSample sample;
        sample.name = line_.substr(0, pos);
        if (!valid_name(sample.name))
            fail("bad metric name");
        if (pos < line_.size() && line_[pos] == '{') {
            ++pos;
            if (pos < line_.size() && line_[pos] == '}')
                fail("empty label braces");
            while (true) {
                const std::size_t start = pos;
                while (pos < line_.size() && line_[pos] != '=')
                    ++pos;
                const std::string label = line_.substr(start, pos - start);
                if (!valid_label_name(label))
                    fail("bad label name \"" + label + "\"");
                if (pos + 1 >= line_.size() || line_[pos + 1] != '"')
                    fail("label value not quoted");
                pos += 2;
                std::string value;
                bool closed = false;
                while (pos < line_.size()) {
                    const char c = line_[pos++];
                    if (c == '"') {
                        closed = true;
                        break;
                    }
                    if (c == '\\') {
                        if (pos >= line_.size())
                            fail("dangling escape");
                        const char e = line_[pos++];
                        if (e == '\\')
                            value += '\\';
                        else if (e == '"')
                            value += '"';
                        else if (e == 'n')
                            value += '\n';
                        else
                            fail("bad escape in a label value");
                        continue;
                    }
                    value += c;
                }
                if (!closed)
                    fail("unterminated label value");
                if (!sample.labels.emplace(label, value).second)
                    fail("label " + label + " twice");
                if (pos < line_.size() && line_[pos] == ',') {
                    ++pos;
                    if (pos < line_.size() && line_[pos] == '}')
                        fail("trailing comma");
                    continue;
                }
                if (pos < line_.size() && line_[pos] == '}') {
                    ++pos;
                    break;
                }
                fail("expected , or }");
            }
        }
        if (pos >= line_.size() || line_[pos] != ' ')
            fail("no space before the value");
        const std::string rest = line_.substr(pos + 1);
        if (rest.find(' ') != std::string::npos)
            fail("a timestamp or trailing text after the value");
        sample.value = parse_value(rest);

        const std::string family_name = family_of(sample.name);
        enter_family(family_name);
        auto& family = families_[family_name];
        if (family.type.empty())
            fail("sample without TYPE");
        if ((family.type == "counter" || family.type == "gauge") && sample.name != family_name)
            fail("sample name differs from its " + family.type + " family");
        if (family.type == "counter" && !(sample.value >= 0))
            fail("negative or NaN counter");
        std::string series = sample.name + "{";
        for (const auto& [k, v] : sample.labels)
            series += k + "=" + v + ",";
        if (!series_.insert(series).second)
            fail("series repeated");
        family.samples.push_back(std::move(sample));
    }

    void check_histograms() const {
        for (const auto& [name, family] : families_) {
            if (family.type != "histogram")
                continue;
            // Per label set without "le": buckets in order, then the totals.
            std::map<std::map<std::string, std::string>, std::vector<std::pair<double, double>>>
                buckets;
            std::map<std::map<std::string, std::string>, double> counts;
            std::set<std::map<std::string, std::string>> sums;
            for (const auto& sample : family.samples) {
                auto labels = sample.labels;
                if (sample.name == name + "_bucket") {
                    const auto le = labels.find("le");
                    if (le == labels.end())
                        throw std::runtime_error(name + ": a bucket without le");
                    const std::string bound = le->second;
                    labels.erase(le);
                    double upper = 0;
                    if (bound == "+Inf") {
                        upper = HUGE_VAL;
                    } else {
                        char* end = nullptr;
                        upper = std::strtod(bound.c_str(), &end);
                        if (bound.empty() || *end != '\0')
                            throw std::runtime_error(name + ": le=\"" + bound + "\" is no number");
                    }
                    buckets[labels].emplace_back(upper, sample.value);
                } else if (sample.name == name + "_count") {
                    counts[labels] = sample.value;
                } else if (sample.name == name + "_sum") {
                    sums.insert(labels);
                } else {
                    throw std::runtime_error(name + ": unexpected sample " + sample.name);
                }
            }
            for (const auto& [labels, series] : buckets) {
                for (std::size_t i = 1; i < series.size(); ++i) {
                    if (!(series[i].first > series[i - 1].first))
                        throw std::runtime_error(name + ": buckets out of order");
                    if (series[i].second < series[i - 1].second)
                        throw std::runtime_error(name + ": buckets not cumulative");
                }
                if (series.empty() || !std::isinf(series.back().first))
                    throw std::runtime_error(name + ": no le=\"+Inf\" bucket");
                const auto count = counts.find(labels);
                if (count == counts.end() || count->second != series.back().second)
                    throw std::runtime_error(name + ": _count missing or not the +Inf bucket");
                if (sums.count(labels) == 0)
                    throw std::runtime_error(name + ": _sum missing");
            }
            if (counts.size() != buckets.size() || sums.size() != buckets.size())
                throw std::runtime_error(name + ": _sum or _count without buckets");
        }
    }

    void read(const std::string& text) {
        if (!text.empty() && text.back() != '\n')
            throw std::runtime_error("the text does not end with a newline");
        std::size_t start = 0;
        while (start < text.size()) {
            const std::size_t end = text.find('\n', start);
            line_ = text.substr(start, end - start);
            ++line_number_;
            start = end + 1;
            if (line_.empty())
                fail("blank line");
            if (line_.front() == '#')
                read_comment();
            else
                read_sample();
        }
        check_histograms();
    }

    std::map<std::string, PromFamily> families_;
    std::set<std::string> help_seen_;
    std::set<std::string> finished_;
    std::set<std::string> series_;
    std::string current_;
    std::string line_;
    int line_number_ = 0;
};

}  // namespace berth::test
