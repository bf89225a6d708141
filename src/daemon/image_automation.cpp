#include "daemon/image_automation.hpp"

#include "daemon/log.hpp"
#include "daemon/recorder.hpp"
#include "util/fs.hpp"

namespace fjord {

Result<std::unique_ptr<RegistryClient>> make_registry_client_for(const std::string &registry_auth_file) {
    RegistryOptions o;
    if (!registry_auth_file.empty()) {
        auto text = read_file(registry_auth_file, 1 << 20);
        if (!text) return fail(std::move(text.error()).context("podman.registry_auth_file"));
        auto creds = parse_registry_auth(*text, registry_auth_file);
        if (!creds) return fail(std::move(creds.error()));
        o.credentials = std::move(*creds);
    }
    return make_registry_client(std::move(o));
}

void ImageAutomation::load(const std::string &state_dir) {
    auto store = ImageUpdateStore::load(state_dir);
    if (!store) {
        // Without its memory automation stays off: no bad tag is retried, no choice is lost.
        log_error("image automation is off: " + store.error().message);
        store_.reset();
        return;
    }
    if (!store->warning().empty()) log_warning(store->warning());
    store_ = std::make_unique<ImageUpdateStore>(std::move(*store));
}

void ImageAutomation::save() {
    if (auto s = store_->save(); !s) log_warning(s.error().message + ", ignoring");
}

void ImageAutomation::settle(const Generation *cur) {
    if (!store_) return;
    std::map<std::string, std::string> running;
    if (cur)
        for (const auto &[name, c] : cur->containers) running[name] = c.spec.image;
    if (!store_->settle_pending(running)) return;
    log_info("image automation: a deploy interrupted before it was recorded was settled from the current generation");
    save();
}

std::string ImageAutomation::key() const {
    std::string k;
    if (!store_) return k;
    for (const auto &[name, s] : store_->all())
        if (!s.current_tag.empty()) k += name + " " + s.image + " " + s.current_tag + "\n";
    return k;
}

std::vector<ContainerImageSpec> ImageAutomation::use_chosen(DesiredState &d) const {
    std::vector<ContainerImageSpec> git;
    for (auto &[name, c] : d.containers) {
        git.push_back({name, c.image, c.update});
        if (store_) c.image = store_->effective_image(git.back());
    }
    return git;
}

void ImageAutomation::follow(const std::vector<ContainerImageSpec> &git) {
    if (!store_) return;
    std::string before = store_->to_json();
    store_->sync_specs(git);
    if (store_->to_json() != before) save(); // the idle path writes nothing
}

ImageCheck ImageAutomation::check(const std::vector<ContainerImageSpec> &git, RegistryClient &client, std::int64_t now, bool dry_run) {
    ImageCheck c = check_image_updates(*store_, git, client, now);
    if (!dry_run) save(); // a preview writes nothing of fjord's own

    return c;
}

void ImageAutomation::note_errors(const std::vector<Error> &errors, AgentStatus &status) {
    std::string text;
    for (const auto &e : errors) text += (text.empty() ? "" : "; ") + e.message;
    status.registry_errors_total += errors.size();
    // A registry down for an hour is said once, when it goes down, and once when it is back
    // (and once more by each new fjordd process, fjordd --once included).
    if (text != logged_) {
        if (text.empty()) log_info("image automation: every registry answers again");
        for (const auto &e : errors)
            log_msg(LogLevel::warning, msgid::registry_error, "image automation: " + e.message + "; nothing changed");
    }
    status.registry_error = text;
    logged_ = text;
}

Status ImageAutomation::start(const ImageUpdate &u) {
    // Recorded before the host is touched: a crash after the generation is committed, or a
    // failed save at the end, is settled at the next start instead of leaving the old tag
    // chosen, which the next commit would quietly go back to.
    store_->set_pending(u);
    if (auto s = store_->save(); !s) {
        store_->clear_pending(u.container);
        return s;
    }
    return {};
}

void ImageAutomation::end(const ImageUpdate &u, bool deployed, bool bad) {
    if (deployed) store_->mark_deployed(u.container, u.new_tag, u.digest);
    else {
        store_->clear_pending(u.container);
        if (bad) store_->mark_bad(u.container, u.new_tag);
    }
    save();
}

} // namespace fjord
