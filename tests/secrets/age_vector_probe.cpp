// Runs the age authors' test vectors (C2SP CCTV, npm cctv-age) through fjord's decryption.
// Usage: age_vector_probe VECTOR... ; prints one line per vector:
//   PASS name | FAIL name: why | SKIP name: why (passphrase and post-quantum vectors)
// and exits 1 when any failed. Driven by tests/integration/secrets.sh.
#include "secrets/age.hpp"

#include <cstdio>
#include <fstream>
#include <sodium.h>
#include <sstream>
#include <string>
#include <vector>
#include <zlib.h>

using namespace fjord;

namespace {

struct Vector {
    std::string expect, payload;
    std::vector<std::string> identities;
    bool passphrase = false, armored = false, compressed = false;
    std::string body;
};

bool inflate_all(const std::string &in, std::string &out) {
    z_stream z{};
    if (inflateInit(&z) != Z_OK) return false;
    z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    char buf[65536];
    int rc;
    do {
        z.next_out = reinterpret_cast<Bytef *>(buf);
        z.avail_out = sizeof buf;
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) break;
        out.append(buf, sizeof buf - z.avail_out);
    } while (rc != Z_STREAM_END);
    inflateEnd(&z);
    return rc == Z_STREAM_END;
}

bool parse_vector(const std::string &text, Vector &v, std::string &err) {
    std::size_t pos = 0;
    for (;;) {
        auto nl = text.find('\n', pos);
        if (nl == std::string::npos) {
            err = "no blank line after the vector's header";
            return false;
        }
        std::string line = text.substr(pos, nl - pos);
        pos = nl + 1;
        if (line.empty()) break;
        auto colon = line.find(": ");
        std::string key = line.substr(0, colon), val = colon == std::string::npos ? "" : line.substr(colon + 2);
        if (key == "expect") v.expect = val;
        else if (key == "payload") v.payload = val;
        else if (key == "identity") v.identities.push_back(val);
        else if (key == "passphrase") v.passphrase = true;
        else if (key == "armored") v.armored = val == "yes";
        else if (key == "compressed") v.compressed = true;
        // "file key" and "comment" are for other kinds of harness.
    }
    v.body = text.substr(pos);
    if (v.compressed) {
        std::string raw;
        if (!inflate_all(v.body, raw)) {
            err = "zlib body does not inflate";
            return false;
        }
        v.body = std::move(raw);
    }
    return true;
}

std::string sha256_hex(const std::string &data) {
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, reinterpret_cast<const unsigned char *>(data.data()), data.size());
    char hex[2 * sizeof h + 1];
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    return hex;
}

/// "" when the vector passes, else why not.
std::string run(const Vector &v) {
    std::vector<AgeIdentity> ids;
    for (const auto &s : v.identities) {
        auto id = AgeIdentity::parse(s);
        if (!id) return "identity does not parse: " + id.error().message;
        ids.push_back(*id);
    }
    // fjord tells armor from binary by the binary intro; the vector says which it is.
    bool binary = v.body.rfind("age-encryption.org/", 0) == 0;
    if (!v.body.empty() && v.armored == binary) return "armor detection disagrees with `armored:`";
    AgeFailure why = AgeFailure::none;
    auto r = age_decrypt(v.body, ids, &why);
    std::string got = age_failure_name(why);
    if (got != v.expect) return "expected " + v.expect + ", got " + got + (r ? "" : " (" + r.error().message + ")");
    if (r && sha256_hex(*r) != v.payload) return "decrypted, but the payload's sha256 differs";
    return "";
}

} // namespace

int main(int argc, char **argv) {
    if (sodium_init() < 0) return 2;
    int failed = 0;
    for (int i = 1; i < argc; ++i) {
        std::string path = argv[i];
        std::string name = path.substr(path.rfind('/') + 1);
        std::ifstream f(path, std::ios::binary);
        std::stringstream ss;
        ss << f.rdbuf();
        Vector v;
        std::string err;
        if (!f || !parse_vector(ss.str(), v, err)) {
            std::printf("FAIL %s: %s\n", name.c_str(), err.empty() ? "unreadable" : err.c_str());
            ++failed;
            continue;
        }
        bool pq = false;
        for (const auto &id : v.identities) pq = pq || id.rfind("AGE-SECRET-KEY-PQ-", 0) == 0;
        if (v.passphrase || pq) {
            std::printf("SKIP %s: %s (outside fjord's scope)\n", name.c_str(), v.passphrase ? "passphrase/scrypt" : "post-quantum identity");
            continue;
        }
        std::string why = run(v);
        if (why.empty()) std::printf("PASS %s\n", name.c_str());
        else {
            std::printf("FAIL %s: %s\n", name.c_str(), why.c_str());
            ++failed;
        }
    }
    return failed ? 1 : 0;
}
