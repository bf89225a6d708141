#include "util/hash.hpp"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <openssl/evp.h>
#include <unistd.h>
#include <vector>

namespace fjord {
namespace {

struct md_ctx_deleter {
    void operator()(EVP_MD_CTX *c) const { EVP_MD_CTX_free(c); }
};
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_deleter>;

} // namespace

// SHA-1 of "blob LEN\0" + data, as `git hash-object` computes it, with libcrypto (so util
// links no libgit2). SHA-1 from the default provider fails only when memory runs out; an id
// that silently differed would mark every file changed, so that stops the process instead.
std::string blob_id(std::string_view data) { return git_object_id("blob", data); }

std::string git_object_id(std::string_view type, std::string_view data) {
    const std::string header = std::string(type) + " " + std::to_string(data.size()) + '\0';
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    md_ctx_ptr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha1(), nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), header.data(), header.size()) != 1 ||
        EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 || EVP_DigestFinal_ex(ctx.get(), md, &len) != 1 ||
        len != 20)
        std::abort();
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(2 * len);
    for (unsigned int i = 0; i < len; ++i) {
        hex += digits[md[i] >> 4];
        hex += digits[md[i] & 15];
    }
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

std::optional<std::string> mend_sealed(std::string_view a, std::string_view b) {
    if (a.size() != b.size() || a == b) return std::nullopt;
    std::vector<std::size_t> diff;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i] != b[i]) diff.push_back(i);
    // Each choice costs one hash of the file: at most 2^20 choices and 1 GiB hashed in all.
    constexpr std::uint64_t budget = 1ull << 30;
    if (diff.size() > 20 || (std::uint64_t{1} << diff.size()) > budget / std::max<std::size_t>(a.size(), 1)) return std::nullopt;
    std::string t(a);
    for (std::uint64_t pick = 0; pick < (std::uint64_t{1} << diff.size()); ++pick) {
        for (std::size_t k = 0; k < diff.size(); ++k) t[diff[k]] = (pick >> k) & 1 ? b[diff[k]] : a[diff[k]];
        if (t.starts_with("sealed ") && unsealed(t, "")) return t;
    }
    return std::nullopt;
}

} // namespace fjord
