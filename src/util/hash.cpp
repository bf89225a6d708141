#include "util/hash.hpp"

#include "util/git_handles.hpp"
#include <unistd.h>

namespace fjord {
namespace {
struct git_init_once {
    git_init_once() { git_libgit2_init(); }
};
} // namespace

std::string blob_id(std::string_view data) {
    static git_init_once init;
    git_oid oid;
    git_odb_hash(&oid, data.data(), data.size(), GIT_OBJECT_BLOB);
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof hex, &oid);
    return hex;
}

Result<std::string> blob_id_fd(int fd) {
    std::string data;
    char buf[65536];
    off_t off = 0;
    for (;;) {
        ssize_t n = ::pread(fd, buf, sizeof buf, off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno("read");
        }
        if (n == 0) break;
        data.append(buf, static_cast<std::size_t>(n));
        off += n;
    }
    return blob_id(data);
}

std::string sealed(std::string_view body) {
    std::string out = "sealed " + blob_id(body) + "\n";
    out.append(body);
    return out;
}

Result<std::string_view> unsealed(std::string_view text, const std::string &where) {
    constexpr std::string_view tag = "sealed ";
    if (!text.starts_with(tag)) return text;
    if (text.size() < tag.size() + 41 || text[tag.size() + 40] != '\n')
        return fail(Errc::corrupt, where + ": damaged (its seal line is cut short)");
    std::string_view id = text.substr(tag.size(), 40), body = text.substr(tag.size() + 41);
    if (blob_id(body) != id) return fail(Errc::corrupt, where + ": damaged (its content does not match its seal)");
    return body;
}

} // namespace fjord
