#include "images/image_updates.hpp"

#include "images/tag_policy.hpp"
#include "util/fs.hpp"

#include <cerrno>
#include <cstdio>
#include <sys/stat.h>
#include <nlohmann/json.hpp>

namespace fjord {
namespace {

constexpr std::uint64_t max_state_size = 16u << 20;

// A string member into `dst`, "" when absent; Errc::invalid when present with another type.
Status str_member(const nlohmann::json &j, const char *key, const std::string &where, std::string &dst) {
    auto it = j.find(key);
    if (it != j.end() && !it->is_string()) return fail(Errc::invalid, where + "." + key + " is not a string");
    dst = it == j.end() ? std::string() : it->get<std::string>();
    return {};
}

} // namespace

std::string ImageUpdate::summary() const {
    return container + ": " + old_tag + " -> " + new_tag + " (" + policy + ")";
}

std::string ImageUpdateStore::to_json() const {
    nlohmann::json cs = nlohmann::json::object();
    for (const auto &[name, s] : containers_) {
        cs[name] = {{"image", s.image},
                    {"policy", s.policy},
                    {"current_tag", s.current_tag},
                    {"current_digest", s.current_digest},
                    {"bad_tags", s.bad_tags},
                    {"last_check", s.last_check},
                    {"last_error", s.last_error}};
        if (!s.pending_tag.empty())
            cs[name]["pending"] = {{"image", s.pending_image}, {"tag", s.pending_tag}, {"digest", s.pending_digest}};
    }
    return nlohmann::json{{"version", 1}, {"containers", cs}}.dump(2) + "\n";
}

Result<std::map<std::string, ContainerImageState>> ImageUpdateStore::parse(const std::string &text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail(Errc::invalid, "not a JSON object");
    auto v = j.find("version");
    if (v == j.end() || !v->is_number_integer() || v->get<int>() != 1) return fail(Errc::invalid, "not version 1");
    auto cs = j.find("containers");
    if (cs == j.end() || !cs->is_object()) return fail(Errc::invalid, "no \"containers\" object");
    std::map<std::string, ContainerImageState> out;
    for (auto it = cs->begin(); it != cs->end(); ++it) {
        const std::string where = "containers." + it.key();
        if (!it->is_object()) return fail(Errc::invalid, where + " is not an object");
        ContainerImageState s;
        FJORD_TRY(str_member(*it, "image", where, s.image));
        FJORD_TRY(str_member(*it, "policy", where, s.policy));
        FJORD_TRY(str_member(*it, "current_tag", where, s.current_tag));
        FJORD_TRY(str_member(*it, "current_digest", where, s.current_digest));
        FJORD_TRY(str_member(*it, "last_error", where, s.last_error));
        if (auto p = it->find("pending"); p != it->end()) {
            if (!p->is_object()) return fail(Errc::invalid, where + ".pending is not an object");
            FJORD_TRY(str_member(*p, "image", where + ".pending", s.pending_image));
            FJORD_TRY(str_member(*p, "tag", where + ".pending", s.pending_tag));
            FJORD_TRY(str_member(*p, "digest", where + ".pending", s.pending_digest));
        }
        if (auto t = it->find("last_check"); t != it->end()) {
            if (!t->is_number_integer()) return fail(Errc::invalid, where + ".last_check is not an integer");
            s.last_check = t->get<std::int64_t>();
        }
        if (auto b = it->find("bad_tags"); b != it->end()) {
            if (!b->is_array()) return fail(Errc::invalid, where + ".bad_tags is not a list");
            for (const auto &tag : *b) {
                if (!tag.is_string()) return fail(Errc::invalid, where + ".bad_tags holds a non-string");
                s.bad_tags.insert(tag.get<std::string>());
            }
        }
        out.emplace(it.key(), std::move(s));
    }
    return out;
}

Result<ImageUpdateStore> ImageUpdateStore::load(const std::string &state_dir) {
    ImageUpdateStore store;
    store.path_ = state_dir + "/images";
    struct stat st;
    if (::lstat(store.path_.c_str(), &st) != 0 && errno == ENOENT) return store;
    auto text = read_file(store.path_, max_state_size);
    if (!text && text.error().code != Errc::invalid)
        return fail(std::move(text.error()).context("read image update state"));
    auto parsed = text ? parse(*text) : fail(text.error());
    if (parsed) {
        store.containers_ = std::move(*parsed);
        return store;
    }
    // As rauc does with a corrupt status file: keep it for a look, start afresh. Losing the
    // bad tags costs at most one more failed (and rolled back) try of each.
    const std::string broken = store.path_ + ".broken";
    if (std::rename(store.path_.c_str(), broken.c_str()) != 0)
        return fail_errno("move the corrupt " + store.path_ + " aside to " + broken);
    store.warning_ = store.path_ + " was corrupt (" + parsed.error().message + "); moved to " + broken +
                     " and starting with no image update state";
    return store;
}

Status ImageUpdateStore::save() const {
    if (path_.empty()) return fail(Errc::internal, "image update state was not loaded from a state folder");
    auto r = write_file_atomic(path_, to_json(), 0600);
    if (!r) return fail(std::move(r.error()).context("write image update state"));
    return {};
}

const ContainerImageState *ImageUpdateStore::find(const std::string &name) const {
    auto it = containers_.find(name);
    return it == containers_.end() ? nullptr : &it->second;
}

std::string ImageUpdateStore::effective_image(const ContainerImageSpec &spec) const {
    const ContainerImageState *s = find(spec.name);
    if (!s || s->current_tag.empty() || s->image != spec.image || spec.update.empty()) return spec.image;
    auto ref = parse_image_ref(spec.image);
    if (!ref || !ref->digest.empty()) return spec.image;
    return ref->name() + ":" + s->current_tag;
}

void ImageUpdateStore::mark_bad(const std::string &name, const std::string &tag) {
    containers_[name].bad_tags.insert(tag);
}

void ImageUpdateStore::mark_deployed(const std::string &name, const std::string &tag, const std::string &digest) {
    ContainerImageState &s = containers_[name];
    s.current_tag = tag;
    s.current_digest = digest;
    s.pending_image.clear();
    s.pending_tag.clear();
    s.pending_digest.clear();
}

void ImageUpdateStore::set_pending(const ImageUpdate &u) {
    ContainerImageState &s = containers_[u.container];
    s.pending_image = u.image;
    s.pending_tag = u.new_tag;
    s.pending_digest = u.digest;
}

void ImageUpdateStore::clear_pending(const std::string &name) {
    if (auto it = containers_.find(name); it != containers_.end()) {
        it->second.pending_image.clear();
        it->second.pending_tag.clear();
        it->second.pending_digest.clear();
    }
}

bool ImageUpdateStore::settle_pending(const std::map<std::string, std::string> &running) {
    bool changed = false;
    for (auto &[name, s] : containers_) {
        if (s.pending_tag.empty()) continue;
        auto it = running.find(name);
        if (it != running.end() && it->second == s.pending_image) mark_deployed(name, s.pending_tag, s.pending_digest);
        else clear_pending(name);
        changed = true;
    }
    return changed;
}

void ImageUpdateStore::sync_specs(const std::vector<ContainerImageSpec> &specs) {
    std::map<std::string, ContainerImageState> next;
    for (const auto &spec : specs) {
        ContainerImageState s;
        if (auto it = containers_.find(spec.name); it != containers_.end()) s = std::move(it->second);
        if (s.image != spec.image) {
            auto before = parse_image_ref(s.image), now = parse_image_ref(spec.image);
            bool same_repo = before && now && before->name() == now->name();
            if (!same_repo) s.bad_tags.clear();
            s.image = spec.image;
            s.current_tag.clear();
            s.current_digest.clear();
            s.pending_image.clear();
            s.pending_tag.clear();
            s.pending_digest.clear();
        }
        s.policy = spec.update;
        next.emplace(spec.name, std::move(s));
    }
    containers_ = std::move(next);
}

ImageCheck check_image_updates(ImageUpdateStore &store, const std::vector<ContainerImageSpec> &specs,
                               RegistryClient &registry, std::int64_t now) {
    store.sync_specs(specs);
    ImageCheck out;
    for (const auto &spec : specs) {
        ContainerImageState &s = store.containers_[spec.name];
        auto failed = [&](Error e) {
            s.last_check = now;
            s.last_error = e.message;
            out.errors.push_back(std::move(e).context("container " + spec.name));
        };
        if (spec.update.empty()) continue; // pinned: the registry is not asked
        auto policy = parse_tag_policy(spec.update);
        if (!policy) {
            failed(policy.error());
            continue;
        }
        auto ref = parse_image_ref(spec.image);
        if (!ref) {
            failed(ref.error());
            continue;
        }
        if (!ref->digest.empty()) {
            failed(Error{Errc::invalid, "image \"" + spec.image + "\" is pinned by digest, so update \"" +
                                            spec.update + "\" cannot move it; drop the digest or the policy"});
            continue;
        }
        auto tags = registry.list_tags(*ref);
        if (!tags) {
            failed(tags.error());
            continue;
        }
        const std::string current = s.current_tag.empty() ? ref->tag : s.current_tag;
        auto newest = newest_matching(*policy, *tags, s.bad_tags);
        if (newest && compare_tags(*newest, current) > 0) {
            auto digest = registry.manifest_digest(*ref, *newest);
            if (!digest) {
                failed(digest.error());
                continue;
            }
            out.updates.push_back(ImageUpdate{spec.name, ref->name() + ":" + *newest, current, *newest, spec.update,
                                              *digest});
        }
        s.last_check = now;
        s.last_error.clear();
    }
    return out;
}

bool tag_failed_itself(Errc code, bool rolled_back, bool podman_answers) {
    if (code == Errc::invalid) return true;
    return rolled_back && code == Errc::io && podman_answers;
}

} // namespace fjord
