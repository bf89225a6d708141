#pragma once
// Every error of bad input, gathered instead of stopping at the first, so that one run of
// `fjordctl validate` (or one start of fjordd) names every typo. Bounded: a hostile file with
// a million bad keys is reported as its first errors and a count of the rest.
#include "util/result.hpp"
#include <cstddef>
#include <string>
#include <vector>

namespace fjord {

/// Errors by file, each "FILE:LINE:COL: key: reason", listed in file order.
class Diagnostics {
  public:
    /// At most this many errors of one file are kept (the earliest in the file) ...
    static constexpr std::size_t max_per_file = 100;
    /// ... and this many in all; the rest are only counted.
    static constexpr std::size_t max_total = 1000;

    /// Adds `e`, an error about `file`; its place is read from a message starting
    /// "FILE:LINE:COL:" or "FILE:LINE:" (none: it sorts first).
    void add(const std::string &file, Error e);

    /// Every error added, counted ones included.
    [[nodiscard]] std::size_t count() const { return kept_ + dropped_; }
    [[nodiscard]] bool empty() const { return count() == 0; }

    /// The earliest error kept of `file`, or nullptr.
    [[nodiscard]] const Error *first_of(const std::string &file) const;

    /// The errors kept, files in the order first added, each file's by line and column; when
    /// some were only counted, a last one says how many and what the limits are.
    [[nodiscard]] std::vector<Error> errors() const;

  private:
    struct Entry {
        std::size_t line, col, seq;
        Error error;
    };
    struct File {
        std::string name;
        std::vector<Entry> entries;
    };
    std::vector<File> files_;
    std::size_t kept_ = 0, dropped_ = 0, seq_ = 0;
};

} // namespace fjord
