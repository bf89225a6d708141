#pragma once
#include "util/result.hpp"
#include <string>

namespace fjord {

/// This host's name (uname nodename).
[[nodiscard]] std::string host_name();
/// /etc/machine-id, trimmed; empty when the file is missing.
[[nodiscard]] std::string machine_id();

} // namespace fjord
