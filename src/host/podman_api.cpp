// The libpod REST API over podman's unix socket with libcurl (already linked for HTTP checks):
// plain HTTP/1.1 requests with JSON bodies, so no podman library or CLI is needed.
#include "host/podman.hpp"

#include "util/curl.hpp"
#include "util/lines.hpp"
#include <nlohmann/json.hpp>
#include <sys/stat.h>

namespace fjord {
namespace {

using json = nlohmann::json;

constexpr std::size_t max_answer = 8u << 20;

struct Answer {
    long status = 0;
    std::string body;
    bool truncated = false;
};

std::size_t keep(char *data, std::size_t size, std::size_t n, void *user) {
    auto *a = static_cast<Answer *>(user);
    std::size_t len = size * n;
    if (a->body.size() + len > max_answer) {
        a->truncated = true;
        return 0; // aborts the transfer: an answer this big is not one podman gives
    }
    a->body.append(data, len);
    return len;
}

std::string escape(const std::string &s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
        else {
            static const char *hex = "0123456789ABCDEF";
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// podman's error answers are {"cause": ..., "message": ..., "response": N}.
std::string api_message(const Answer &a) {
    json j = json::parse(a.body, nullptr, false);
    if (j.is_object() && j.contains("message") && j["message"].is_string()) return j["message"].get<std::string>();
    std::string b = a.body.substr(0, 200);
    while (!b.empty() && (b.back() == '\n' || b.back() == '\r')) b.pop_back();
    return b.empty() ? "no message" : b;
}

class PodmanApi final : public Podman {
  public:
    PodmanApi(std::string socket, std::chrono::milliseconds timeout) : socket_(std::move(socket)), timeout_(timeout) {}

    Status pull(const std::string &ref) override {
        auto a = call("POST", "/images/pull?reference=" + escape(ref) + "&quiet=true&policy=always", "", 10);
        if (!a) return fail(a.error().context("pull " + ref));
        if (a->status != 200) return fail(Errc::network, "pull " + ref + ": " + api_message(*a));
        // The trap: a failed pull still answers 200, with {"error": ...} in the stream.
        bool got_image = false;
        Lines lines{a->body};
        for (std::string_view line; lines.next(line);) {
            json j = json::parse(line, nullptr, false);
            if (!j.is_object()) continue;
            if (j.contains("error") && j["error"].is_string() && !j["error"].get<std::string>().empty())
                return fail(Errc::network, "pull " + ref + ": " + j["error"].get<std::string>());
            if (j.contains("id") || j.contains("images")) got_image = true;
        }
        if (!got_image) return fail(Errc::network, "pull " + ref + ": podman answered without an image");
        return {};
    }

    Result<std::optional<PodmanImage>> image(const std::string &ref) override {
        auto a = call("GET", "/images/" + escape(ref) + "/json", "");
        if (!a) return fail(a.error().context("image " + ref));
        if (a->status == 404) return std::optional<PodmanImage>{};
        if (a->status != 200) return fail(Errc::io, "image " + ref + ": " + api_message(*a));
        json j = json::parse(a->body, nullptr, false);
        if (!j.is_object() || !j.contains("Id") || !j["Id"].is_string())
            return fail(Errc::io, "image " + ref + ": podman's answer lacks an Id");
        PodmanImage img;
        img.id = j["Id"].get<std::string>();
        if (j.contains("RepoDigests") && j["RepoDigests"].is_array())
            for (const auto &d : j["RepoDigests"])
                if (d.is_string()) img.repo_digests.push_back(d.get<std::string>());
        return std::optional<PodmanImage>{std::move(img)};
    }

    Result<std::optional<PodmanContainer>> inspect(const std::string &name) override {
        auto a = call("GET", "/containers/" + escape(name) + "/json", "");
        if (!a) return fail(a.error().context("container " + name));
        if (a->status == 404) return std::optional<PodmanContainer>{};
        if (a->status != 200) return fail(Errc::io, "container " + name + ": inspect: " + api_message(*a));
        json j = json::parse(a->body, nullptr, false);
        if (!j.is_object()) return fail(Errc::io, "container " + name + ": inspect: not JSON");
        PodmanContainer c;
        c.id = j.value("Id", "");
        c.name = j.value("Name", name);
        c.image_id = j.value("Image", "");
        if (j.contains("State") && j["State"].is_object()) {
            c.running = j["State"].value("Running", false);
            c.state = j["State"].value("Status", "");
        }
        if (j.contains("Config") && j["Config"].is_object() && j["Config"].contains("Labels") && j["Config"]["Labels"].is_object())
            for (auto &[k, v] : j["Config"]["Labels"].items())
                if (v.is_string()) c.labels[k] = v.get<std::string>();
        return std::optional<PodmanContainer>{std::move(c)};
    }

    Status create(const PodmanCreate &c) override {
        const ContainerSpec &s = *c.spec;
        json body = {{"name", c.name}, {"image", c.image}, {"labels", c.labels}, {"env", s.env},
                     // catatonit as PID 1: signals reach the process, and stop does not wait out its timeout
                     {"init", true}, {"restart_policy", s.restart}};
        if (!s.command.empty()) body["command"] = s.command;
        json ports = json::array();
        for (const auto &p : s.ports)
            ports.push_back({{"host_ip", p.host_ip}, {"host_port", p.host_port}, {"container_port", p.container_port},
                             {"protocol", p.protocol}});
        body["portmappings"] = ports;
        json mounts = json::array();
        if (c.volume_sources.size() != s.volumes.size())
            return fail(Errc::internal, "container " + c.name + ": create: volume sources do not match the spec");
        for (std::size_t i = 0; i < s.volumes.size(); ++i) {
            const auto &v = s.volumes[i];
            mounts.push_back({{"destination", v.container}, {"source", c.volume_sources[i]}, {"type", "bind"},
                              {"options", v.read_only ? json::array({"rbind", "ro"}) : json::array({"rbind"})}});
        }
        body["mounts"] = mounts;
        json limits = json::object();
        if (s.memory) limits["memory"] = {{"limit", s.memory}};
        if (s.cpus_milli) limits["cpu"] = {{"quota", s.cpus_milli * 100}, {"period", 100'000}};
        if (!limits.empty()) body["resource_limits"] = limits;
        if (s.healthcheck) {
            json test = json::array({"CMD"});
            for (const auto &a : s.healthcheck->command) test.push_back(a);
            body["healthconfig"] = {{"Test", test}, {"Interval", s.healthcheck->interval_ms * 1'000'000},
                                    {"Timeout", s.healthcheck->timeout_ms * 1'000'000}, {"Retries", s.healthcheck->retries}};
        }
        auto a = call("POST", "/containers/create", body.dump());
        if (!a) return fail(a.error().context("container " + c.name + ": create"));
        if (a->status != 201 && a->status != 200) {
            std::string m = api_message(*a);
            // The other trap: a missing image is a 500, not a 404.
            if (m.find("image not known") != std::string::npos || m.find("no such image") != std::string::npos)
                return fail(Errc::io, "container " + c.name + ": image " + c.image + " not found: " + m);
            return fail(Errc::io, "container " + c.name + ": create: " + m);
        }
        return {};
    }

    Status start(const std::string &name) override { return simple("POST", "/containers/" + escape(name) + "/start", name, "start"); }
    Status stop(const std::string &name) override {
        return simple("POST", "/containers/" + escape(name) + "/stop?timeout=10", name, "stop");
    }
    Status remove(const std::string &name) override {
        return simple("DELETE", "/containers/" + escape(name) + "?force=true", name, "remove");
    }
    Status rename(const std::string &from, const std::string &to) override {
        return simple("POST", "/containers/" + escape(from) + "/rename?name=" + escape(to), from, "rename to " + to);
    }

    Result<std::string> healthcheck(const std::string &name) override {
        auto a = call("GET", "/containers/" + escape(name) + "/healthcheck", "");
        if (!a) return fail(a.error().context("container " + name + ": healthcheck"));
        if (a->status != 200) return fail(Errc::io, "container " + name + ": healthcheck: " + api_message(*a));
        json j = json::parse(a->body, nullptr, false);
        if (!j.is_object() || !j.contains("Status") || !j["Status"].is_string())
            return fail(Errc::io, "container " + name + ": healthcheck: no Status in podman's answer");
        return j["Status"].get<std::string>();
    }

  private:
    Status simple(const char *method, const std::string &path, const std::string &name, const std::string &what) {
        auto a = call(method, path, "");
        if (!a) return fail(a.error().context("container " + name + ": " + what));
        // 304: already started / already stopped — the step is done either way.
        if (a->status == 204 || a->status == 200 || a->status == 304) return {};
        return fail(Errc::io, "container " + name + ": " + what + ": " + api_message(*a));
    }

    Result<Answer> call(const char *method, const std::string &path, const std::string &body, int timeout_factor = 1) {
        char err[CURL_ERROR_SIZE];
        curl_ptr c = curl_handle("fjord", err);
        if (!c) return fail(Errc::io, "podman: cannot set up libcurl");
        Answer a;
        std::string url = "http://d/v4.0.0/libpod" + path;
        curl_slist_ptr headers;
        curl_easy_setopt(c.get(), CURLOPT_UNIX_SOCKET_PATH, socket_.c_str());
        curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
        curl_easy_setopt(c.get(), CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c.get(), CURLOPT_CONNECTTIMEOUT_MS, 5'000L);
        curl_easy_setopt(c.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count() * timeout_factor));
        curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, keep);
        curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &a);
        if (std::string_view(method) == "POST") {
            headers.reset(curl_slist_append(nullptr, "Content-Type: application/json"));
            curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, headers.get());
            curl_easy_setopt(c.get(), CURLOPT_POSTFIELDS, body.c_str());
            curl_easy_setopt(c.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
        }
        CURLcode rc = curl_easy_perform(c.get());
        if (a.truncated) return fail(Errc::io, "podman: answer over " + std::to_string(max_answer >> 20) + " MiB, refused");
        if (rc != CURLE_OK) {
            std::string why = curl_error(rc, err);
            if (rc == CURLE_COULDNT_CONNECT) {
                // curl's own words name a TCP host and port, which would mislead here.
                struct stat st;
                why = ::stat(socket_.c_str(), &st) != 0 ? "no such socket" : "connection refused";
                return fail(Errc::io, "podman socket " + socket_ + ": cannot connect (" + why +
                                          "); is the podman service running? (systemctl enable --now podman.socket)");
            }
            return fail(Errc::io, "podman socket " + socket_ + ": " + why);
        }
        curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &a.status);
        return a;
    }

    std::string socket_;
    std::chrono::milliseconds timeout_;
};

} // namespace

std::unique_ptr<Podman> podman_api(std::string socket, std::chrono::milliseconds timeout) {
    return std::make_unique<PodmanApi>(std::move(socket), timeout);
}

} // namespace fjord
