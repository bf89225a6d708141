// Image automation (issue 5, item 4): every podman.registry_poll_interval the registries are
// asked for newer tags of the containers whose spec has `update = "glob:1.2.*"`; each newer
// tag is deployed as its own generation of the current commit, under the same transaction,
// health checks and rollback as a commit. A tag that fails by its own fault is marked bad and
// never tried again; a transient failure (pull, podman, registry) is retried at the next check.
// The choices live in STATE_DIR/images (images/image_updates.hpp); every render of a commit
// runs the chosen tag, so a choice survives restarts and later commits that keep the image.
#include "daemon/facts.hpp"
#include "sandbox/isolated.hpp"
#include "daemon/log.hpp"
#include "daemon/own_paths.hpp"
#include "daemon/reconciler.hpp"
#include "util/fs.hpp"
#include <ctime>

namespace fjord {
namespace {

std::string short_id(const std::string &c) { return c.substr(0, 12); }

// The registry client for podman.registry_auth_file's logins (anonymous without one).
Result<std::unique_ptr<RegistryClient>> make_client(const PodmanConfig &pc) {
    RegistryOptions o;
    if (!pc.registry_auth_file.empty()) {
        auto text = read_file(pc.registry_auth_file, 1 << 20);
        if (!text) return fail(std::move(text.error()).context("podman.registry_auth_file"));
        auto creds = parse_registry_auth(*text, pc.registry_auth_file);
        if (!creds) return fail(std::move(creds.error()));
        o.credentials = std::move(*creds);
    }
    return make_registry_client(std::move(o));
}

} // namespace

void Reconciler::load_images() {
    auto store = ImageUpdateStore::load(cfg_.state.dir);
    if (!store) {
        // Without its memory automation stays off: no bad tag is retried, no choice is lost.
        log_error("image automation is off: " + store.error().message);
        images_.reset();
        return;
    }
    if (!store->warning().empty()) log_warning(store->warning());
    images_ = std::make_unique<ImageUpdateStore>(std::move(*store));
}

std::string Reconciler::images_key() const {
    std::string k;
    if (!images_) return k;
    for (const auto &[name, s] : images_->all())
        if (!s.current_tag.empty()) k += name + " " + s.image + " " + s.current_tag + "\n";
    return k;
}

std::vector<ContainerImageSpec> Reconciler::use_chosen_images(DesiredState &d) const {
    std::vector<ContainerImageSpec> git;
    for (auto &[name, c] : d.containers) {
        git.push_back({name, c.image, c.update});
        if (images_) c.image = images_->effective_image(git.back());
    }
    return git;
}

void Reconciler::images_follow(const std::vector<ContainerImageSpec> &git) {
    if (!images_) return;
    std::string before = images_->to_json();
    images_->sync_specs(git);
    if (images_->to_json() == before) return; // the idle path writes nothing
    if (auto s = images_->save(); !s) log_warning(s.error().message + ", ignoring");
}

Result<DesiredState> Reconciler::render_current(const std::string &commit, const Generation &cur,
                                                const std::function<void(DesiredState &)> &adjust) {
    RenderOptions ro = render_options(cfg_);
    ro.decrypt = decryptor();
    ro.secret_digest = digester();
    // The commit is untrusted input: rendered in a sandboxed child (sandbox/isolated.hpp).
    return render_commit([&](const RenderOptions &o) { return render_isolated(*source_, commit, o); }, ro, cur, adjust);
}

void Reconciler::note_registry_errors(const std::vector<Error> &errors) {
    std::string text;
    for (const auto &e : errors) text += (text.empty() ? "" : "; ") + e.message;
    status_.registry_errors_total += errors.size();
    // A registry down for an hour is said once, when it goes down, and once when it is back
    // (and once more by each new fjordd process, fjordd --once included).
    if (text != registry_logged_) {
        if (text.empty()) log_info("image automation: every registry answers again");
        for (const auto &e : errors)
            log_msg(LogLevel::warning, msgid::registry_error, "image automation: " + e.message + "; nothing changed");
    }
    status_.registry_error = text;
    registry_logged_ = text;
}

void Reconciler::settle_images() {
    if (!images_) return;
    std::map<std::string, std::string> running;
    auto cur_n = store_.current();
    if (cur_n && *cur_n != 0)
        if (auto cur = current_generation(*cur_n))
            for (const auto &[name, c] : (*cur)->containers) running[name] = c.spec.image;
    if (!images_->settle_pending(running)) return;
    log_info("image automation: a deploy interrupted before it was recorded was settled from the current generation");
    if (auto s = images_->save(); !s) log_warning(s.error().message + ", ignoring");
}

ImageRound Reconciler::check_images(bool dry_run) {
    ImageRound round;
    if (!images_ || cfg_.source.url.empty() || !damaged_.empty()) return round;
    if (auto s = ensure_source(); !s) {
        log_error("image automation: " + s.error().message);
        ++round.failed;
        return round;
    }
    if (auto s = recover_pending(); !s) {
        log_error("image automation: " + s.error().message);
        ++round.failed;
        return round;
    }
    auto cur_n = store_.current();
    if (!cur_n || *cur_n == 0) return round;
    auto cur = current_generation(*cur_n);
    if (!cur) {
        log_error("image automation: " + cur.error().message);
        ++round.failed;
        return round;
    }
    // Hosts without an update policy never render nor ask a registry here.
    bool any = false;
    for (const auto &[name, c] : (*cur)->containers) any = any || !c.spec.update.empty();
    if (!any) return round;
    const std::string commit = (*cur)->info.commit;
    facts_ = host_facts();
    std::vector<ContainerImageSpec> git;
    auto desired = render_current(commit, **cur, [&](DesiredState &d) { git = use_chosen_images(d); });
    if (!desired) {
        log_error("image automation: commit " + short_id(commit) + ": " + desired.error().message);
        ++round.failed;
        return round;
    }
    round.checked = true;
    std::int64_t now = std::time(nullptr);
    ImageCheck check;
    if (!registry_) {
        auto client = make_client(cfg_.podman);
        if (client) registry_ = std::move(*client);
        else check.errors.push_back(std::move(client.error()));
    }
    if (registry_) check = check_image_updates(*images_, git, *registry_, now);
    status_.last_registry_check = now;
    round.errors = check.errors.size();
    note_registry_errors(check.errors);
    if (!dry_run)
        if (auto s = images_->save(); !s) log_warning(s.error().message + ", ignoring");
    if (check.updates.empty()) {
        save_status();
        return round;
    }
    std::string paused = status_.suspended;
    if (paused.empty() && apply_gate_) paused = apply_gate_();
    for (const auto &u : check.updates) {
        if (dry_run || !paused.empty()) {
            // Found again at every check while paused: logged at debug level only.
            log_msg(dry_run ? LogLevel::info : LogLevel::debug, nullptr,
                    "image update " + u.summary() + (dry_run ? ": a dry run deploys nothing" : ": not deployed, " + paused));
            continue;
        }
        SyncResult r = deploy_image_update(u, commit);
        log_msg(r.state == SyncState::failed ? LogLevel::error : LogLevel::info, r.msgid, r.message,
                {{"CONTAINER", u.container}, {"IMAGE", u.image}, {"COMMIT", r.commit},
                 {"GENERATION", std::to_string(r.generation)}, {"FJORD_RESULT", sync_state_name(r.state)}});
        if (r.state == SyncState::applied || r.state == SyncState::up_to_date) ++round.deployed;
        else ++round.failed;
    }
    save_status();
    return round;
}

SyncResult Reconciler::deploy_image_update(const ImageUpdate &u, const std::string &commit) {
    SyncResult r;
    r.commit = commit;
    r.msgid = msgid::image_update;
    const std::string what = u.summary();
    auto cur_n = store_.current();
    if (!cur_n) {
        r.message = what + ": " + cur_n.error().message;
        return finish(r);
    }
    auto cur = current_generation(*cur_n);
    if (!cur) {
        r.message = what + ": " + cur.error().message;
        return finish(r);
    }
    r.generation = *cur_n;
    // The current commit, rendered as a sync does, with this container at its new tag.
    ContainerSpec updated;
    bool found = false;
    auto desired = render_current(commit, **cur, [&](DesiredState &d) {
        (void)use_chosen_images(d);
        if (auto it = d.containers.find(u.container); it != d.containers.end()) {
            it->second.image = u.image;
            updated = it->second;
            found = true;
        }
    });
    if (!desired) {
        r.message = what + ": commit " + short_id(commit) + ": " + desired.error().message;
        return finish(r);
    }
    if (!found) {
        r.message = what + ": commit " + short_id(commit) + " has no container " + u.container;
        return finish(r);
    }
    // Pulled by the digest the registry named when asked, so the bits deployed are the bits
    // chosen even if the tag moves meanwhile.
    std::map<std::string, AppliedContainer> pins;
    if (auto ref = parse_image_ref(u.image); ref && !u.digest.empty()) pins[u.container] = {updated, ref->name() + "@" + u.digest};
    if (on_progress) on_progress("image update " + what);
    // Recorded before the host is touched: a crash after the generation is committed, or a
    // failed save below, is settled at the next start (settle_images) instead of leaving the
    // old tag chosen, which the next commit would quietly go back to.
    images_->set_pending(u);
    if (auto s = images_->save(); !s) {
        images_->clear_pending(u.container);
        r.message = "image update " + what + ": " + s.error().message + "; nothing changed";
        return finish(r);
    }
    guard_refused_ = false;
    auto report = apply_desired(*desired, **cur, SyncOptions{}, what, nullptr, &pins);
    if (!report) {
        // The tag's own fault (its checks failed, it would not start): never again. A pull that
        // failed, podman or the registry out of reach, a refusal: tried again at the next check.
        Errc code = report.error().code;
        bool answers = code == Errc::io && rolled_back_ && podman().inspect(u.container).has_value();
        bool bad = tag_failed_itself(code, rolled_back_, answers);
        images_->clear_pending(u.container);
        if (bad) images_->mark_bad(u.container, u.new_tag);
        if (auto s = images_->save(); !s) log_warning(s.error().message + ", ignoring");
        std::string end = rolled_back_ ? "rolled back to generation " + std::to_string(*cur_n) : "nothing changed";
        end += bad ? "; tag " + u.new_tag + " marked bad, not tried again" : "; tried again at the next registry check";
        // The history line of this attempt's generation, if it saved one, says which update it was.
        if (auto info = attempted()) {
            info->message = what + ": " + info->message + "; " + end;
            (void)store_.save_info(*info);
        }
        r.state = SyncState::failed;
        r.rolled_back = rolled_back_;
        r.message = "image update " + what + " failed: " + report.error().message + "; " + end;
        status_.last_image_update = what + ": failed, " + end;
        return finish(r);
    }
    images_->mark_deployed(u.container, u.new_tag, u.digest);
    if (auto s = images_->save(); !s) log_warning(s.error().message + ", ignoring");
    status_.render_key = current_render_key(); // the next poll of the same commit stays idle
    if (report->generation == 0) {
        r.state = SyncState::up_to_date;
        r.message = "image update " + what + ": already running";
        status_.last_image_update = what + ": already running";
        return finish(r);
    }
    ++status_.image_updates_total;
    status_.generation = report->generation;
    status_.commit = commit;
    note_commit(commit);
    r.state = SyncState::applied;
    r.generation = report->generation;
    r.message = "image update " + what + " applied as generation " + std::to_string(report->generation);
    status_.last_image_update = what + ": generation " + std::to_string(report->generation) + ", good";
    return finish(r);
}

} // namespace fjord
