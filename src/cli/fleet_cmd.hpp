#pragma once
// fjordctl fleet: the status repository's reports and markers as a table (fleet/view.hpp).
#include "config/config.hpp"
#include <string>

namespace fjord {

/// `fjordctl fleet [--json] [--url URL] [--commit C]`. Exit 0 when it could be read, 1 when
/// not, 2 when there is no status repository to read.
[[nodiscard]] int run_fleet(const Config &cfg, const std::string &url, const std::string &commit, bool json);

} // namespace fjord
