#pragma once
// Host facts for templates (host.*), read once per reconcile by fjordd and by fjordctl, and
// passed into the pure manifest layer as values.
#include "manifest/vars.hpp"
#include "prereq/virt.hpp"
#include <set>
#include <string>

namespace fjord {

/// This machine's facts: host.name, host.machine_id, host.ipv4, host.ipv6 (global addresses),
/// host.virtualization; as facts["host"], ready for RenderOptions::facts.
[[nodiscard]] VarTable host_facts();

/// host.virtualization for a classification: "none", "kvm", "qemu", "vmware", "microsoft",
/// "xen", "oracle", ... (systemd-detect-virt --vm's words), "unknown" when it cannot be told.
[[nodiscard]] std::string virtualization_id(const prereq::VirtInfo &v);

/// A digest of the facts a render depends on besides the commit: everything but fjord.*,
/// whose values come from the commit and the generation. Kept in status.json, so a change
/// (a new address) re-renders the commit, and no change costs no render.
[[nodiscard]] std::string facts_key(const VarTable &facts);

/// True when templates looked up fjord.generation (or the whole fjord table).
[[nodiscard]] bool uses_generation(const std::set<std::string> &facts_used);

} // namespace fjord
