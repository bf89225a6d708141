#include "daemon/facts.hpp"

#include "daemon/own_paths.hpp"
#include "daemon/reconciler.hpp"
#include "manifest/render.hpp"
#include "plan/plan.hpp"
#include "util/hash.hpp"
#include "util/host.hpp"
#include <cctype>

namespace fjord {
namespace {

void serialise(const VarValue &v, std::string &out) {
    out += std::to_string(int(v.kind)) + ":" + std::to_string(v.text.size()) + ":" + v.text;
    out += "[" + std::to_string(v.items.size());
    for (const auto &e : v.items) serialise(e, out);
    out += "{" + std::to_string(v.fields.size());
    for (const auto &[k, e] : v.fields) {
        out += std::to_string(k.size()) + ":" + k;
        serialise(e, out);
    }
}

} // namespace

std::string virtualization_id(const prereq::VirtInfo &v) {
    using prereq::VirtKind;
    switch (v.kind) {
    case VirtKind::none: return "none";
    case VirtKind::kvm: return "kvm";
    case VirtKind::tcg: return "qemu";
    case VirtKind::unknown: return "unknown";
    case VirtKind::other: break;
    }
    static const std::pair<const char *, const char *> words[] = {
        {"QEMU", "qemu"},           {"Hyper-V", "microsoft"}, {"VMware", "vmware"},      {"Xen", "xen"},
        {"VirtualBox", "oracle"},   {"Parallels", "parallels"}, {"bhyve", "bhyve"},     {"ACRN", "acrn"},
        {"QNX", "qnx"},             {"SRE", "sre"},           {"Apple Virtualization", "apple"},
        {"Amazon EC2", "amazon"},   {"Bochs", "bochs"},
    };
    for (const auto &[name, word] : words)
        if (v.name == name) return word;
    return "vm-other";
}

VarTable host_facts() {
    VarTable f;
    auto addrs = host_addresses();
    set_var(f, "host.name", VarValue::string(host_name()));
    set_var(f, "host.machine_id", VarValue::string(machine_id()));
    set_var(f, "host.ipv4", VarValue::strings(addrs.ipv4));
    set_var(f, "host.ipv6", VarValue::strings(addrs.ipv6));
    set_var(f, "host.virtualization", VarValue::string(virtualization_id(prereq::classify_virt(prereq::read_virt()))));
    return f;
}

std::string facts_key(const VarTable &facts) {
    std::string s;
    for (const auto &[k, v] : facts) {
        if (k == "fjord") continue;
        s += std::to_string(k.size()) + ":" + k;
        serialise(v, s);
    }
    return blob_id(s);
}

bool uses_generation(const std::set<std::string> &used) {
    for (const auto &n : used)
        if (n == "fjord" || n == "fjord.generation" || n.rfind("fjord.generation.", 0) == 0) return true;
    return false;
}

// fjord.generation is the number of the generation that holds the rendered content. Rendered
// first with the current number: when that equals the current generation, nothing changed
// (whatever the templates say) and no generation is made. Only when something else changed
// is it rendered again with the number the new generation will get. So a template using
// fjord.generation costs one generation per real change, never one per poll.
Result<DesiredState> Reconciler::render_commit(const RenderFn &render_once, RenderOptions ro, const Generation &cur,
                                               const std::function<void(DesiredState &)> &adjust) {
    std::set<std::string> used;
    ro.facts = facts_;
    ro.facts_used = &used;
    std::uint64_t n = cur.info.number;
    if (n == 0) {
        auto next = store_.next_number();
        if (!next) return fail(std::move(next.error()));
        n = *next;
    }
    set_var(ro.facts, "fjord.generation", VarValue::number(std::to_string(n)));
    auto desired = render_once(ro);
    if (desired && adjust) adjust(*desired);
    if (!desired || cur.info.number == 0 || !uses_generation(used)) return desired;
    auto plan = make_plan(cur, *desired, fs_, PlanOptions{cfg_.apply.prune, cfg_.apply.protect, own_host_paths(cfg_)});
    if (plan && plan->empty()) return desired;
    auto next = store_.next_number();
    if (!next) return fail(std::move(next.error()));
    set_var(ro.facts, "fjord.generation", VarValue::number(std::to_string(*next)));
    desired = render_once(ro);
    if (desired && adjust) adjust(*desired);
    return desired;
}

} // namespace fjord
