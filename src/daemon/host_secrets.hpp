#pragma once
// The host's age identity as the engine uses it: loaded (or made) once, then handed out as the
// decrypt, seal and digest functions that render, apply and drift take. Without an identity
// fjord runs on; only .age files are refused, each with the reason.
#include "apply/drift.hpp"
#include "apply/transaction.hpp"
#include "manifest/render.hpp"
#include "secrets/age_identity.hpp"
#include <memory>

namespace fjord {

class HostSecrets {
  public:
    /// Loads the identity at `path`, making one when there is none (logged with its recipient).
    void load(const std::string &path);
    /// Decrypts a .age file's content; refuses, naming the file, without an identity.
    [[nodiscard]] std::function<Result<std::string>(std::string_view, const std::string &)> decryptor() const;
    /// The keyed digest of a secret's plaintext, for drift (empty without an identity).
    [[nodiscard]] SecretDigest digester() const;
    /// A transaction's decrypt and seal (adopted originals at a secret's path are stored sealed).
    void give(ApplyContext &ctx) const;
    /// Render settings: decrypt and digest.
    void give(RenderOptions &ro) const;

  private:
    std::shared_ptr<const AgeIdentity> identity_;
    std::string error_;
};

} // namespace fjord
