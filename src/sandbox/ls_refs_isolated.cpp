#include "sandbox/ls_refs_isolated.hpp"

#include "sandbox/sandbox.hpp"
#include <optional>
#include <string>

namespace fjord {
namespace {

bool hex_id(std::string_view s) {
    if (s.size() != 40 && s.size() != 64) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

} // namespace

Result<fleet::LsRefsAnswer> ls_refs_isolated(const fleet::LsRefsRequest &req) {
    auto t = fleet::LsRefsTransport::open(req);
    if (!t) return fail(t.error());
    SandboxLimits l;
    l.timeout = req.timeout + std::chrono::seconds(5); // the talk bounds itself; this is the backstop
    l.max_output = req.max_bytes + 64;                 // the answer is never longer than what was read
    l.no_file_writes = true;
    l.keep_fd = t->read_fd();
    // The answer: "v2 BYTES" or "v0 BYTES", then "ID REF" a line.
    auto answer = run_sandboxed("ls-refs", SeccompProfile::poll, l, [&]() -> Result<std::string> {
        auto a = t->talk(req);
        if (!a) return fail(std::move(a.error()));
        std::string out = std::string(a->v0 ? "v0 " : "v2 ") + std::to_string(a->bytes_read) + "\n";
        for (const auto &[ref, id] : a->refs) out += id + " " + ref + "\n";
        return out;
    });
    if (!answer) return fail(t->finish(std::move(answer.error())));
    t->finish();
    auto bad = [&] { return fail(Errc::internal, "ls-refs sandbox: invalid answer for " + req.url); };
    fleet::LsRefsAnswer out;
    std::string_view rest = *answer;
    auto line = [&]() -> std::optional<std::string_view> {
        auto nl = rest.find('\n');
        if (nl == std::string_view::npos) return std::nullopt;
        auto l = rest.substr(0, nl);
        rest.remove_prefix(nl + 1);
        return l;
    };
    auto head = line();
    if (!head || head->size() < 4 || (head->substr(0, 3) != "v0 " && head->substr(0, 3) != "v2 ")) return bad();
    out.v0 = head->substr(0, 3) == "v0 ";
    for (char c : head->substr(3))
        if (c < '0' || c > '9') return bad();
    out.bytes_read = std::stoull(std::string(head->substr(3)));
    while (!rest.empty()) {
        auto l = line();
        if (!l) return bad();
        auto sp = l->find(' ');
        if (sp == std::string_view::npos || !hex_id(l->substr(0, sp))) return bad();
        std::string ref(l->substr(sp + 1));
        bool under = req.prefixes.empty();
        for (const auto &p : req.prefixes) under = under || ref.rfind(p, 0) == 0;
        if (!under || ref.empty() || ref.size() > 1024 || out.refs.size() >= req.max_refs) return bad();
        for (unsigned char c : ref)
            if (c <= 0x20 || c == 0x7f) return bad();
        out.refs.emplace(std::move(ref), std::string(l->substr(0, sp)));
    }
    return out;
}

} // namespace fjord
