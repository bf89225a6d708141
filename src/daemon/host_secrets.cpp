#include "daemon/host_secrets.hpp"

#include "daemon/log.hpp"
#include "secrets/age.hpp"

namespace fjord {

void HostSecrets::load(const std::string &path) {
    bool created = false;
    auto id = ensure_identity_file(path, &created);
    if (!id) {
        identity_.reset();
        error_ = id.error().message;
        log_warning("secrets identity: " + error_ + "; files ending in .age will be refused");
        return;
    }
    identity_ = std::make_shared<const AgeIdentity>(std::move(*id));
    error_.clear();
    if (created) log_info("created the age identity " + path + "; its recipient is " + identity_->recipient().encode());
}

std::function<Result<std::string>(std::string_view, const std::string &)> HostSecrets::decryptor() const {
    return [id = identity_, why = error_](std::string_view ciphertext, const std::string &origin) -> Result<std::string> {
        if (!id) return fail(Errc::invalid, origin + ": cannot decrypt: " + why);
        auto plain = age_decrypt(ciphertext, std::span<const AgeIdentity>(id.get(), 1));
        if (!plain) return fail(std::move(plain.error()).context(origin));
        return plain;
    };
}

SecretDigest HostSecrets::digester() const {
    if (!identity_) return {};
    return [id = identity_](std::string_view plaintext) { return id->digest(plaintext); };
}

void HostSecrets::give(ApplyContext &ctx) const {
    ctx.decrypt = decryptor();
    if (!identity_) return; // adopting at a secret's path is then refused: its original would be stored in the clear
    ctx.seal = [id = identity_](std::string_view plaintext) {
        AgeRecipient self = id->recipient();
        return age_encrypt(plaintext, std::span<const AgeRecipient>(&self, 1), false);
    };
}

void HostSecrets::give(RenderOptions &ro) const {
    ro.decrypt = decryptor();
    ro.secret_digest = digester();
}

} // namespace fjord
