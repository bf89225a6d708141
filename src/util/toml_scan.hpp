#pragma once
// A pre-scan of TOML text for the shape bounds toml++ does not keep itself. toml++ builds one
// nested table per segment of a dotted key and walks them recursively: a 200,000-segment key
// ("a.b.c...") in a repo's fjord.toml overflowed the render child's stack (SIGSEGV) inside
// toml::parse, where no check after parsing can help. So the text is measured before toml++
// sees it, without building anything. util/toml.hpp's parse_toml() runs it for every file
// fjord parses: the agent config, manifests, container files.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace fjord {

/// What the pre-scan refuses.
struct TomlScanLimits {
    /// Nesting: the segments of a table header ([[x]] adds one for its array), plus the
    /// segments of a dotted key below it, plus one per array or inline table a value opens.
    /// Real files nest 2 to 6 deep ([file."/etc/a"] with mode = "0640" is 3); 64 is far above
    /// that and a small, fixed stack for toml++ and for fjord's own recursive walks.
    std::size_t max_depth = 64;
    /// Values: every key segment, table header segment and array element, an upper bound on
    /// the nodes toml++ will allocate (about 200 bytes each, measured, besides the text). A
    /// 100,000-file host with a [file."PATH"] table for every file, each setting mode, owner
    /// and group, counts 500,000; 1,000,000 keeps twice that and holds toml++ to about 200 MB
    /// plus the strings.
    std::size_t max_values = 1'000'000;
};

/// Where the pre-scan stopped and why ("nests deeper than 64 levels ...").
struct TomlScanError {
    std::size_t line = 0, column = 0; ///< 1-based; the column counts code points, as toml++'s does
    std::string why;
};

/// Checks `text` against `limits` without parsing it into anything. Text that is not TOML is
/// not judged: the scan stops where the text stops being TOML and leaves the error to the
/// parser, which stops there too (everything before that point was measured). The scan reads
/// each byte once and recurses at most max_depth deep.
[[nodiscard]] std::optional<TomlScanError> scan_toml(std::string_view text, const TomlScanLimits &limits = {});

} // namespace fjord
