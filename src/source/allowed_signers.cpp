// The allowed-signers file of ssh-keygen(1) (ALLOWED SIGNERS), as git's
// gpg.ssh.allowedSignersFile uses it: "principals [options] keytype base64 [comment]".
#include "source/known_hosts.hpp"
#include "source/signature.hpp"
#include "util/fs.hpp"
#include <cctype>
#include <ctime>

namespace fjord {
namespace {

constexpr std::uint64_t max_allowed_signers_size = 1u << 20;

bool is_space(char c) { return c == ' ' || c == '\t'; }

void skip_space(std::string_view &s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
}

// One whitespace-delimited field; quotes group (principals, options with quoted values).
// False on an unterminated quote.
bool next_field(std::string_view &s, std::string &out) {
    skip_space(s);
    out.clear();
    bool quoted = false;
    std::size_t i = 0;
    for (; i < s.size(); ++i) {
        char c = s[i];
        if (c == '"') quoted = !quoted;
        else if (!quoted && is_space(c)) break;
        out.push_back(c);
    }
    s.remove_prefix(i);
    return !quoted;
}

std::string unquote(std::string_view v) {
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') return std::string(v.substr(1, v.size() - 2));
    return std::string(v);
}

// Splits on commas outside quotes.
std::vector<std::string> split_options(std::string_view s) {
    std::vector<std::string> out(1);
    bool quoted = false;
    for (char c : s) {
        if (c == '"') quoted = !quoted;
        if (c == ',' && !quoted) out.emplace_back();
        else out.back().push_back(c);
    }
    return out;
}

// YYYYMMDD[HHMM[SS]][Z], as ssh-keygen takes it: UTC with a Z, local time without.
bool parse_time(std::string v, std::int64_t &out) {
    bool utc = !v.empty() && (v.back() == 'Z' || v.back() == 'z');
    if (utc) v.pop_back();
    if (v.size() != 8 && v.size() != 12 && v.size() != 14) return false;
    for (char c : v)
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    auto num = [&](std::size_t at, std::size_t n) { return std::stoi(v.substr(at, n)); };
    std::tm tm{};
    tm.tm_year = num(0, 4) - 1900;
    tm.tm_mon = num(4, 2) - 1;
    tm.tm_mday = num(6, 2);
    if (v.size() >= 12) {
        tm.tm_hour = num(8, 2);
        tm.tm_min = num(10, 2);
    }
    if (v.size() == 14) tm.tm_sec = num(12, 2);
    if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
        tm.tm_sec > 60)
        return false;
    tm.tm_isdst = -1;
    std::time_t t = utc ? ::timegm(&tm) : std::mktime(&tm);
    if (t == static_cast<std::time_t>(-1)) return false;
    out = static_cast<std::int64_t>(t);
    return true;
}

bool is_key_type(std::string_view t) {
    return t.rfind("ssh-", 0) == 0 || t.rfind("ecdsa-", 0) == 0 || t.rfind("sk-", 0) == 0 || t.rfind("rsa-", 0) == 0;
}

// The first string of an ssh wire blob (its key type), or "" when the blob is too short.
std::string blob_type(std::string_view blob) {
    if (blob.size() < 4) return "";
    std::uint32_t n = (std::uint32_t(std::uint8_t(blob[0])) << 24) | (std::uint32_t(std::uint8_t(blob[1])) << 16) |
                      (std::uint32_t(std::uint8_t(blob[2])) << 8) | std::uint32_t(std::uint8_t(blob[3]));
    if (n > blob.size() - 4) return "";
    return std::string(blob.substr(4, n));
}

} // namespace

Result<AllowedSigners> parse_allowed_signers(std::string_view text, const std::string &file) {
    AllowedSigners out;
    out.file = file;
    std::size_t lineno = 0;
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        ++lineno;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        skip_space(line);
        if (line.empty() || line.front() == '#') continue;
        std::string origin = file + ":" + std::to_string(lineno);
        auto bad = [&](const std::string &why) { return fail(Errc::invalid, origin + ": " + why); };

        AllowedSigner s;
        s.origin = origin;
        std::string field;
        if (!next_field(line, field)) return bad("unterminated quote in the principals");
        s.principals = unquote(field);
        if (!next_field(line, field)) return bad("unterminated quote in the options");
        if (field.empty()) return bad("a principal but no key (expected: principals [options] key-type base64-key)");
        bool cert_authority = false;
        if (!is_key_type(field)) { // then it is the options field
            for (const std::string &opt : split_options(field)) {
                auto eq = opt.find('=');
                std::string name = opt.substr(0, eq);
                std::string value = eq == std::string::npos ? "" : unquote(opt.substr(eq + 1));
                if (name == "cert-authority" && eq == std::string::npos) cert_authority = true;
                else if (name == "namespaces" && eq != std::string::npos) {
                    for (const std::string &n : split_options(value))
                        if (!n.empty()) s.namespaces.push_back(n);
                } else if ((name == "valid-after" || name == "valid-before") && eq != std::string::npos) {
                    if (!parse_time(value, name == "valid-after" ? s.valid_after : s.valid_before))
                        return bad(name + " '" + value + "' is not a time (YYYYMMDD[HHMM[SS]][Z])");
                } else {
                    return bad("unknown option '" + opt + "' (known: cert-authority, namespaces, valid-after, valid-before)");
                }
            }
            if (!next_field(line, field)) return bad("unterminated quote");
            if (field.empty()) return bad("options but no key");
            if (!is_key_type(field)) return bad("'" + field + "' is not an ssh key type (e.g. ssh-ed25519)");
        }
        std::string type = field, b64;
        (void)next_field(line, b64); // the rest is a comment
        if (b64.empty()) return bad(type + " but no base64 key after it");
        std::string blob;
        if (!base64_decode(b64, blob) || blob_type(blob) != type) return bad("the " + type + " key is not valid base64 of a " + type + " key");
        if (cert_authority) {
            out.notes.push_back(origin + ": cert-authority line skipped: fjord does not accept SSH certificates");
            continue;
        }
        if (type != "ssh-ed25519") {
            out.notes.push_back(origin + ": " + type + " key skipped: fjord accepts only ssh-ed25519 signing keys");
            continue;
        }
        if (blob.size() != 4 + 11 + 4 + 32) return bad("the ssh-ed25519 key is not 32 bytes long");
        s.key = std::move(blob);
        out.keys.push_back(std::move(s));
    }
    return out;
}

Result<AllowedSigners> load_allowed_signers(const std::string &file) {
    auto text = read_file(file, max_allowed_signers_size);
    if (!text) return fail(text.error().context("source.allowed_signers"));
    return parse_allowed_signers(*text, file);
}

} // namespace fjord
