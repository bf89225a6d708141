#include "prereq/parse.hpp"

#include "util/lines.hpp"
#include <algorithm>
#include <charconv>
#include <cmath>

namespace fjord::prereq {
namespace {

std::vector<std::string_view> words(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) ++i;
        std::size_t start = i;
        while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n') ++i;
        if (i > start) out.push_back(s.substr(start, i - start));
    }
    return out;
}

bool to_u64(std::string_view s, std::uint64_t &v) {
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() &&
            std::all_of(s.begin() + static_cast<std::ptrdiff_t>(i) + 1, s.begin() + static_cast<std::ptrdiff_t>(i) + 4,
                        [](char c) { return c >= '0' && c <= '7'; })) {
            out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

} // namespace

SchedulerLine parse_scheduler(std::string_view text) {
    SchedulerLine out;
    for (auto w : words(text)) {
        if (w.size() >= 2 && w.front() == '[' && w.back() == ']') {
            w = w.substr(1, w.size() - 2);
            out.active = std::string(w);
        }
        out.offered.emplace_back(w);
    }
    // A queue without a choice prints its one scheduler bare ("none").
    if (out.active.empty() && out.offered.size() == 1) out.active = out.offered.front();
    return out;
}

Result<CpuTimes> parse_cpu_times(std::string_view proc_stat) {
    Lines lines{proc_stat};
    for (std::string_view line; lines.next(line);) {
        auto w = words(line);
        if (w.empty() || w[0] != "cpu") continue;
        CpuTimes c;
        for (std::size_t i = 1; i < w.size() && c.fields < c.t.size(); ++i) {
            if (!to_u64(w[i], c.t[c.fields])) return fail(Errc::invalid, "/proc/stat: bad number \"" + std::string(w[i]) + "\"");
            ++c.fields;
        }
        if (c.fields < 4) return fail(Errc::invalid, "/proc/stat: the cpu line has " + std::to_string(c.fields) + " fields");
        return c;
    }
    return fail(Errc::invalid, "/proc/stat: no aggregate cpu line");
}

Result<double> steal_percent(const CpuTimes &before, const CpuTimes &after) {
    if (before.fields < 8 || after.fields < 8) return fail(Errc::invalid, "the kernel reports no steal time");
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < 8; ++i) {
        // Counters only grow; a smaller one means CPU hotplug or a broken sample, not a value.
        if (after.t[i] < before.t[i]) return fail(Errc::invalid, "/proc/stat counters went backwards between samples");
        total += after.t[i] - before.t[i];
    }
    if (total == 0) return fail(Errc::invalid, "no CPU time passed between the samples");
    return 100.0 * static_cast<double>(after.t[7] - before.t[7]) / static_cast<double>(total);
}

Result<MemLine> parse_meminfo(std::string_view text) {
    MemLine m;
    bool total = false, avail = false;
    Lines lines{text};
    for (std::string_view line; lines.next(line);) {
        auto w = words(line);
        if (w.size() < 2) continue;
        std::uint64_t v = 0;
        if (!to_u64(w[1], v)) continue;
        std::uint64_t mult = w.size() >= 3 && w[2] == "kB" ? 1024 : 1;
        if (w[0] == "MemTotal:") m.total = v * mult, total = true;
        if (w[0] == "MemAvailable:") m.available = v * mult, avail = true;
    }
    if (!avail) return fail(Errc::invalid, "/proc/meminfo has no MemAvailable (kernel older than 3.14?)");
    if (!total) return fail(Errc::invalid, "/proc/meminfo has no MemTotal");
    return m;
}

std::vector<MountEntry> parse_mountinfo(std::string_view text) {
    std::vector<MountEntry> out;
    Lines lines{text};
    for (std::string_view line; lines.next(line);) {
        auto w = words(line);
        // id parent maj:min root mount-point options [optional...] - fstype source super-options
        auto dash = std::find(w.begin(), w.end(), std::string_view("-"));
        if (w.size() < 7 || dash == w.end() || dash - w.begin() < 6 || w.end() - dash < 3) continue;
        auto colon = w[2].find(':');
        std::uint64_t maj = 0, min = 0;
        if (colon == std::string_view::npos || !to_u64(w[2].substr(0, colon), maj) || !to_u64(w[2].substr(colon + 1), min))
            continue;
        MountEntry e;
        e.major = static_cast<unsigned>(maj);
        e.minor = static_cast<unsigned>(min);
        e.root = unescape(w[3]);
        e.mount_point = unescape(w[4]);
        e.fs_type = unescape(dash[1]);
        e.source = unescape(dash[2]);
        if (w.end() - dash >= 4) e.super_options = unescape(dash[3]);
        out.push_back(std::move(e));
    }
    return out;
}

std::string mount_option(std::string_view options, std::string_view key) {
    std::size_t pos = 0;
    while (pos <= options.size()) {
        auto end = std::min(options.find(',', pos), options.size());
        auto opt = options.substr(pos, end - pos);
        if (opt.size() > key.size() && opt.substr(0, key.size()) == key && opt[key.size()] == '=')
            return std::string(opt.substr(key.size() + 1));
        pos = end + 1;
    }
    return {};
}

std::int64_t percentile(const std::vector<std::int64_t> &sorted, double p) {
    if (sorted.empty()) return 0;
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    rank = std::clamp<std::size_t>(rank, 1, sorted.size());
    return sorted[rank - 1];
}

} // namespace fjord::prereq
