#include "util/diagnostics.hpp"

#include <algorithm>

namespace fjord {
namespace {

/// Reads the digits at `pos` of `s` as a number, moving `pos` past them; 0 when there are none.
std::size_t number_at(const std::string &s, std::size_t &pos) {
    std::size_t n = 0, start = pos;
    while (pos < s.size() && pos - start < 9 && s[pos] >= '0' && s[pos] <= '9') n = n * 10 + std::size_t(s[pos++] - '0');
    return n;
}

bool before(std::size_t l1, std::size_t c1, std::size_t s1, std::size_t l2, std::size_t c2, std::size_t s2) {
    if (l1 != l2) return l1 < l2;
    if (c1 != c2) return c1 < c2;
    return s1 < s2;
}

} // namespace

void Diagnostics::add(const std::string &file, Error e) {
    std::size_t line = 0, col = 0;
    if (e.message.size() > file.size() && e.message.compare(0, file.size(), file) == 0 && e.message[file.size()] == ':') {
        std::size_t pos = file.size() + 1;
        line = number_at(e.message, pos);
        if (line && pos < e.message.size() && e.message[pos] == ':') {
            ++pos;
            col = number_at(e.message, pos);
        }
    }
    auto f = std::find_if(files_.begin(), files_.end(), [&](const File &x) { return x.name == file; });
    if (f == files_.end()) {
        if (kept_ >= max_total) { // no room left: only counted
            ++dropped_;
            return;
        }
        f = files_.insert(files_.end(), File{file, {}});
    }
    Entry entry{line, col, seq_++, std::move(e)};
    if (f->entries.size() < max_per_file && kept_ < max_total) {
        f->entries.push_back(std::move(entry));
        ++kept_;
        return;
    }
    // Full: the earliest in the file are kept, so the latest kept one may give way.
    ++dropped_;
    auto last = std::max_element(f->entries.begin(), f->entries.end(), [](const Entry &a, const Entry &b) {
        return before(a.line, a.col, a.seq, b.line, b.col, b.seq);
    });
    if (last != f->entries.end() && before(entry.line, entry.col, entry.seq, last->line, last->col, last->seq)) *last = std::move(entry);
}

const Error *Diagnostics::first_of(const std::string &file) const {
    auto f = std::find_if(files_.begin(), files_.end(), [&](const File &x) { return x.name == file; });
    if (f == files_.end() || f->entries.empty()) return nullptr;
    return &std::min_element(f->entries.begin(), f->entries.end(), [](const Entry &a, const Entry &b) {
                return before(a.line, a.col, a.seq, b.line, b.col, b.seq);
            })->error;
}

std::vector<Error> Diagnostics::errors() const {
    std::vector<Error> out;
    for (const auto &f : files_) {
        std::vector<const Entry *> sorted;
        for (const auto &e : f.entries) sorted.push_back(&e);
        std::sort(sorted.begin(), sorted.end(), [](const Entry *a, const Entry *b) {
            return before(a->line, a->col, a->seq, b->line, b->col, b->seq);
        });
        for (const auto *e : sorted) out.push_back(e->error);
    }
    if (dropped_)
        out.push_back(Error{Errc::invalid, "... and " + std::to_string(dropped_) + " more error" + (dropped_ == 1 ? "" : "s") +
                                               " not shown (at most " + std::to_string(max_per_file) + " are shown per file and " +
                                               std::to_string(max_total) + " in all)"});
    return out;
}

} // namespace fjord
