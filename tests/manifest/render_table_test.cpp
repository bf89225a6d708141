// What render refuses, and the trees at the edge of a refusal that it accepts, as two tables: a
// new case is a row. The features themselves are tested in render_test.cpp.
#include "render_support.hpp"

#include <optional>

using namespace fjord;
using namespace fjord::test;

namespace {

/// How a row's expected error is compared with the message: all of it, its start, or a part.
enum class Match { whole, start, part };

/// A tree render refuses (with web1()'s options), the message it gives and, where the row names
/// one, the error's class.
struct Refusal {
    std::string name;
    std::vector<Node> tree;
    std::string error;
    Match match = Match::whole;
    std::optional<Errc> code = std::nullopt;
};

/// A tree that renders (with web1()'s options), at the edge of a refusal, and every host path it gives.
struct Accepted {
    std::string name;
    std::vector<Node> tree;
    std::vector<std::string> paths;
};

/// The host folder's manifest, beside one file for its [file] tables to name.
std::vector<Node> manifest(const std::string &toml) {
    return {{"hosts/web1/files/etc/a", "a"}, {"hosts/web1/fjord.toml", toml}};
}
/// A container whose only volume is `v`.
std::vector<Node> volume(const std::string &v) {
    return {{"hosts/web1/containers/web.toml", "image = \"bb:1\"\nvolumes = [\"" + v + "\"]\n"}};
}
/// A templated unit app.service.tmpl with TEXT, a templated drop-in and the vars both use.
std::vector<Node> app_unit(const std::string &text) {
    return {{"hosts/web1/fjord.toml", "[vars]\nport = 8080\nmem = \"64M\"\n"},
            {"hosts/web1/units/app.service.tmpl", text},
            {"hosts/web1/units/app.service.d/mem.conf.tmpl", "[Service]\nMemoryMax={{mem}}\n"}};
}
/// A's nodes, then B's.
std::vector<Node> operator+(std::vector<Node> a, const std::vector<Node> &b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

const std::string n255(255, 'n'), n256(256, 'n');

const std::vector<Refusal> refusals = {
    // The host folder must be in the repo.
    {"a missing host folder", {{"hosts/web2/files/a", "x"}},
     "host folder hosts/web1 is not in the repo at commit c0ffee (source.path)", Match::whole, Errc::not_found},

    // Includes: no cycles; inside the repo; folders that exist.
    {"an include cycle",
     {{"bundles/a/fjord.toml", "include = [\"../b\"]\n"},
      {"bundles/b/fjord.toml", "\ninclude = [\"../a\"]\n"},
      {"hosts/web1/fjord.toml", "include = [\"../../bundles/a\"]\n"}},
     "bundles/b/fjord.toml:2:12: include \"../a\": include cycle: bundles/a -> bundles/b -> bundles/a"},
    {"a folder including itself", {{"hosts/web1/fjord.toml", "include = [\".\"]\n"}},
     "hosts/web1/fjord.toml:1:12: include \".\": include cycle: hosts/web1 -> hosts/web1"},
    {"an include leaving the repo", {{"hosts/web1/fjord.toml", "include = [\"../../../etc\"]\n"}},
     "hosts/web1/fjord.toml:1:12: include \"../../../etc\": leaves the repo"},
    {"an absolute include", {{"hosts/web1/fjord.toml", "include = [\"/bundles/base\"]\n"}},
     "hosts/web1/fjord.toml:1:12: include \"/bundles/base\": absolute", Match::start},
    {"an include of a missing folder", {{"hosts/web1/fjord.toml", "include = [\"../../bundles/nope\"]\n"}},
     "hosts/web1/fjord.toml:1:12: include \"../../bundles/nope\": no folder bundles/nope in the repo"},

    // Manifest errors carry file:line:col, the table and the key.
    {"an unknown top-level key", manifest("include = []\ncolour = 1\n"), "hosts/web1/fjord.toml:2:1: colour: unknown key"},
    {"a mode that is not octal", manifest("\n\n[file.\"/etc/a\"]\nmode = \"0999\"\n"),
     "hosts/web1/fjord.toml:4:8: file.\"/etc/a\": mode: bad mode \"0999\" (use octal, e.g. \"0644\")"},
    {"an unknown [file] key", manifest("[file.\"/etc/a\"]\ncolour = \"red\"\n"),
     "hosts/web1/fjord.toml:2:1: file.\"/etc/a\": colour: unknown key"},
    {"a mode as an integer", manifest("[file.\"/etc/a\"]\nmode = 644\n"),
     "hosts/web1/fjord.toml:2:8: file.\"/etc/a\": mode: expected an octal string like \"0644\", got an integer"},
    {"a relative [file] path", manifest("[file.\"etc/a\"]\n"),
     "hosts/web1/fjord.toml:1:7: file.\"etc/a\": must be an absolute host path (\"/etc/...\")"},
    {"a [file] table for no file", manifest("[file.\"/etc/b\"]\nowner = \"x\"\n"),
     "hosts/web1/fjord.toml:1:1: file.\"/etc/b\": no files/ of the merged folders provides /etc/b"},
    {"include as a string", manifest("include = \"x\"\n"),
     "hosts/web1/fjord.toml:1:11: include: expected an array of folder paths, got a string"},
    {"an unknown unit state", manifest("[unit.\"nginx.service\"]\nstate = \"running\"\n"),
     "hosts/web1/fjord.toml:2:9: unit.\"nginx.service\": state: \"running\" is not one of started, stopped"},
    {"a bad memory limit", manifest("[unit.\"nginx.service\"]\nlimits = { memory = \"lots\" }\n"),
     "hosts/web1/fjord.toml:2:21: unit.\"nginx.service\".limits: memory: bad size \"lots\"", Match::start},
    {"a unit table that is not a unit name", manifest("[unit.nginx]\n"),
     "hosts/web1/fjord.toml:1:7: unit.nginx: not a systemd unit name (e.g. \"nginx.service\")"},
    {"a container as a string", manifest("[container]\nweb = \"nginx\"\n"),
     "hosts/web1/fjord.toml:2:7: container: web: expected a table, got a string"},
    {"an unknown hook time", manifest("[[hook]]\nwhen = \"later\"\nexec = [\"x\"]\n"),
     "hosts/web1/fjord.toml:2:8: hook[1]: when: \"later\" is not one of pre-apply, post-apply, post-rollback"},
    {"a hook timeout that is no duration", manifest("[[hook]]\nwhen = \"post-apply\"\nexec = [\"x\"]\ntimeout = \"soon\"\n"),
     "hosts/web1/fjord.toml:4:11: hook[1]: timeout: bad duration \"soon\"", Match::start},
    {"a hook timeout over an hour", manifest("[[hook]]\nwhen = \"post-apply\"\nexec = [\"x\"]\ntimeout = \"61m\"\n"),
     "hosts/web1/fjord.toml:4:11: hook[1]: timeout: over the limit of 1h (a hook holds up the whole sync)"},
    {"a check of two kinds", manifest("[[check]]\nname = \"web\"\nhttp = \"http://x/\"\ntcp = \"a:1\"\n"),
     "hosts/web1/fjord.toml:1:1: check[1]: needs exactly one of http, tcp, exec, unit, container"},
    {"expect_status on a tcp check", manifest("[[check]]\nname = \"db\"\ntcp = \"a:1\"\nexpect_status = 200\n"),
     "hosts/web1/fjord.toml:4:17: check[1]: expect_status: applies to http checks only"},
    {"vars named like host facts", manifest("[vars.host]\nname = \"x\"\n"),
     "hosts/web1/fjord.toml:1:7: vars: host: the names host.* and fjord.* are reserved for host facts"},
    {"TOML that does not parse", manifest("[vars\n"), "hosts/web1/fjord.toml:1:6: ", Match::start},
    {"a check named twice",
     {{"bundles/base/fjord.toml", "[[hook]]\nwhen = \"pre-apply\"\nexec = [\"base\"]\n"
                                  "[[check]]\nname = \"sshd\"\nunit = \"ssh.service\"\n"
                                  "[[check]]\nname = \"web\"\ntcp = \"127.0.0.1:80\"\n"},
      {"hosts/web1/fjord.toml", "[[check]]\nname = \"a\"\nunit = \"a.service\"\n[[check]]\nname = \"a\"\nunit = \"b.service\"\n"}},
     "hosts/web1/fjord.toml:5:8: check[2]: name: \"a\" is used by another check"},
    {"validate without %s",
     {{"hosts/web1/files/etc/a", "x"}, {"hosts/web1/fjord.toml", "[file.\"/etc/a\"]\nvalidate = [\"visudo\", \"-c\"]\n"}},
     "hosts/web1/fjord.toml:2:12: file.\"/etc/a\": validate: no argument has %s (where the staged file's path goes)"},

    // Setuid, setgid and sticky modes are refused, naming the file.
    {"a setuid mode", {{"hosts/web1/files/etc/x", "x"}, {"hosts/web1/fjord.toml", "[file.\"/etc/x\"]\nmode = \"4755\"\n"}},
     "hosts/web1/files/etc/x: setuid/setgid/sticky bits are refused (mode \"4755\" at hosts/web1/fjord.toml:2:8)"},
    {"a sticky mode", {{"hosts/web1/files/etc/x", "x"}, {"hosts/web1/fjord.toml", "[file.\"/etc/x\"]\nmode = \"1777\"\n"}},
     "hosts/web1/files/etc/x: setuid/setgid/sticky bits are refused", Match::start},

    // Submodules, special files and names with line breaks.
    {"a submodule", {{"hosts/web1/files/opt/lib", "", EntryKind::submodule}}, "hosts/web1/files/opt/lib: submodules are refused"},
    {"a special file", {{"hosts/web1/files/dev/sda", "", EntryKind::other}}, "hosts/web1/files/dev/sda: not a regular file or symlink"},
    {"a line feed in a name", {{"hosts/web1/files/etc/a\nb", "x"}}, "hosts/web1/files/etc/a\\nb: names with line breaks are refused"},
    {"a carriage return in a folder name", {{"hosts/web1/files/etc\r/b", "x"}},
     "hosts/web1/files/etc\\r: names with line breaks are refused"},

    // Protected paths, and replacing a folder holding one.
    {"a file under a protected folder", {{"hosts/web1/files/etc/fjord/fjord.toml", "x"}},
     "hosts/web1/files/etc/fjord/fjord.toml: /etc/fjord/fjord.toml is protected (apply.protect has /etc/fjord)", Match::whole,
     Errc::refused},
    {"a protected path itself", {{"hosts/web1/files/boot", "x"}}, "hosts/web1/files/boot: /boot is protected (apply.protect has /boot)"},
    {"a link replacing a folder that holds a protected path", {{"hosts/web1/files/etc", "srv", EntryKind::symlink}},
     "hosts/web1/files/etc: /etc would replace the protected /etc/fjord (apply.protect)"},

    // A container volume under, at or above a protected path.
    {"a volume of a protected folder", volume("/etc/fjord:/cfg"),
     "hosts/web1/containers/web.toml: container.web: volumes: \"/etc/fjord:/cfg\": /etc/fjord is protected by /etc/fjord (apply.protect)",
     Match::whole, Errc::refused},
    {"a volume under a protected folder", volume("/boot/efi:/b:ro"), "/boot/efi is protected by /boot", Match::part},
    {"a volume above a protected folder", volume("/etc:/etc"), "/etc contains the protected /etc/fjord", Match::part},
    {"a protected volume spelt with ./ and a trailing /", volume("/etc/./fjord/:/cfg"), "/etc/fjord is protected", Match::part},
    {"a volume of /", volume("/:/host"), "/ is protected by /boot", Match::part},
    {"a protected volume in fjord.toml", {{"hosts/web1/fjord.toml", "[container.web]\nimage = \"bb:1\"\nvolumes = [\"/boot:/b\"]\n"}},
     "hosts/web1/fjord.toml:1:1: container.web: volumes: \"/boot:/b\": /boot is protected by /boot (apply.protect)"},

    // Symlinks stay inside apply.root.
    {"an absolute symlink", {{"hosts/web1/files/etc/passwd-link", "/etc/passwd", EntryKind::symlink}},
     "hosts/web1/files/etc/passwd-link: symlink escapes apply.root (target \"/etc/passwd\" is absolute)"},
    {"a symlink climbing out", {{"hosts/web1/files/etc/x/y", "../../../outside", EntryKind::symlink}},
     "hosts/web1/files/etc/x/y: symlink escapes apply.root (target \"../../../outside\" leaves /)"},
    {"a chain of symlinks that together leave the root", // each alone stays inside
     {{"hosts/web1/files/x/l1", "..", EntryKind::symlink}, {"hosts/web1/files/x/l2", "l1/../..", EntryKind::symlink}},
     "hosts/web1/files/x/l2: symlink target \"l1/../..\" goes through the managed symlink /x/l1; "
     "chains of symlinks are refused (they can resolve outside apply.root)"},
    {"a mode for a symlink",
     {{"hosts/web1/files/etc/l", "a", EntryKind::symlink}, {"hosts/web1/fjord.toml", "[file.\"/etc/l\"]\nmode = \"0600\"\n"}},
     "hosts/web1/fjord.toml:1:1: file.\"/etc/l\": mode: a symlink has no mode of its own"},

    // A path cannot be a file in one folder and a folder in another, nor come twice.
    {"a file in a bundle, a folder in the host",
     {{"bundles/base/files/etc/app", "file"},
      {"hosts/web1/fjord.toml", "include = [\"../../bundles/base\"]\n"},
      {"hosts/web1/files/etc/app/conf", "x"}},
     "hosts/web1/files/etc/app/conf: needs /etc/app to be a folder, but bundles/base/files/etc/app makes it a file"},
    {"a file and a template giving the same path", {{"hosts/web1/files/etc/a", "1"}, {"hosts/web1/files/etc/a.tmpl", "2"}},
     "hosts/web1/files/etc/a.tmpl: gives /etc/a, which hosts/web1/files/etc/a gives too"},

    // Templates refuse unknown variables, sections over them and partials, naming file and line.
    {"an unknown variable", {{"hosts/web1/files/etc/a.tmpl", "line one\nx={{domian}}\n"}},
     "hosts/web1/files/etc/a.tmpl:2:3: undefined variable \"domian\" (not in [vars] nor a host fact)"},
    {"a section over an unknown variable", {{"hosts/web1/files/etc/a.tmpl", "{{#servers}}\n{{name}}\n{{/servers}}\n"}},
     "hosts/web1/files/etc/a.tmpl:1:1: undefined variable \"servers\" (not in [vars] nor a host fact)"},
    {"a partial", {{"hosts/web1/files/etc/a.tmpl", "{{> part}}"}},
     "hosts/web1/files/etc/a.tmpl:1:1: {{> part}}: partials are not supported", Match::start},
    {"a tag not closed", {{"hosts/web1/files/etc/a.tmpl", "\n\nopen {{x"}}, "hosts/web1/files/etc/a.tmpl:3:6: \"{{\" is not closed"},
    // A rendered unit is checked as a unit; a unit comes from one file.
    {"a rendered unit that is no unit", app_unit("{{port}}\n"),
     "hosts/web1/units/app.service.tmpl:1: expected Key=Value, a [Section] or a comment"},
    {"an unknown variable in a unit", app_unit("[Service]\nExecStart={{nope}}\n"),
     "hosts/web1/units/app.service.tmpl:2:11: undefined variable \"nope\" (not in [vars] nor a host fact)"},
    {"a unit as a file and as a template",
     app_unit("[Service]\nExecStart={{nope}}\n") + std::vector<Node>{{"hosts/web1/units/app.service", "[Service]\n"}},
     "hosts/web1/units/app.service.tmpl: gives unit app.service, which hosts/web1/units/app.service gives too"},

    // A unit file systemd could not parse is refused before anything is applied.
    {"a line that is no assignment", {{"hosts/web1/units/bad.service", "[Service]\nExecStart=/bin/true\nthis is not an assignment\n"}},
     "hosts/web1/units/bad.service:3: expected Key=Value, a [Section] or a comment"},
    {"an assignment before any section", {{"hosts/web1/units/early.service", "ExecStart=/bin/true\n[Service]\n"}},
     "hosts/web1/units/early.service:1: assignment outside of any section"},
    {"a section header not closed", {{"hosts/web1/units/h.service", "[Service\nA=1\n"}},
     "hosts/web1/units/h.service:1: malformed section header"},
    {"a drop-in with an empty key",
     {{"hosts/web1/units/d.service", "[Service]\nExecStart=/bin/true\n"}, {"hosts/web1/units/d.service.d/x.conf", "[Service]\n=1\n"}},
     "hosts/web1/units/d.service.d/x.conf:2: bad key \"\""},
    {"bad limits, named by the manifest parser", {{"hosts/web1/fjord.toml", "[unit.\"a.service\"]\nlimits = { memory = \"lots\" }\n"}},
     "hosts/web1/fjord.toml:2:", Match::start},
    {"a unit in units/ and in files/",
     {{"hosts/web1/units/c.service", "[Service]\n"}, {"hosts/web1/files/etc/systemd/system/c.service", "[Service]\n"}},
     "hosts/web1/units/c.service: gives /etc/systemd/system/c.service, which hosts/web1/files/etc/systemd/system/c.service gives too"},

    // units/ and containers/ refuse what they cannot hold.
    {"a file in units/ that is no unit", {{"hosts/web1/units/README", "x"}},
     "hosts/web1/units/README: not a systemd unit name (e.g. nginx.service, or nginx.service.tmpl)"},
    {"a drop-in folder file that is no .conf", {{"hosts/web1/units/a.service.d/notes.txt", "x"}},
     "hosts/web1/units/a.service.d/notes.txt: only NAME.conf (or NAME.conf.tmpl) drop-in files go in a.service.d/"},
    {"a file in containers/ that is no .toml", {{"hosts/web1/containers/web.yaml", "x"}},
     "hosts/web1/containers/web.yaml: only NAME.toml files, one container each, go in containers/"},
    {"a container in containers/ and in fjord.toml",
     {{"hosts/web1/containers/web.toml", "image = \"a\"\n"}, {"hosts/web1/fjord.toml", "[container.web]\nimage = \"b\"\n"}},
     "hosts/web1/fjord.toml:1:1: container.web: also defined by hosts/web1/containers/web.toml"},
    {"a container file that does not parse", {{"hosts/web1/containers/web.toml", "image = \n"}},
     "hosts/web1/containers/web.toml:1:", Match::start},

    // Names the host cannot hold, naming the repo path and the limit.
    {"a file name of 256 bytes", {{"hosts/web1/files/etc/" + n256, "x"}},
     "hosts/web1/files/etc/" + n256 +
         ": a name of 256 bytes in its host path; a file or folder name on Linux is at most 255 bytes (NAME_MAX)"},
    {"a folder name of 256 bytes", {{"hosts/web1/files/srv/" + n256 + "/x", "x"}},
     "hosts/web1/files/srv/" + n256 + "/x: a name of 256 bytes", Match::start},
    // A unit of 255 bytes is a valid name, but its drop-in folder NAME.d is not.
    {"a drop-in folder of 257 bytes", {{"hosts/web1/units/" + std::string(247, 'u') + ".service.d/x.conf", "[Service]\n"}},
     ".service.d/x.conf: a name of 257 bytes in its host path", Match::part},
    // fjord's own temp names: writing or recovering the sibling would remove them.
    {"fjord's temp name", {{"hosts/web1/files/etc/.fjord-tmp.0123456789abcdef", "x"}},
     "is a name fjord uses for its own temp files", Match::part},
    {"fjord's recovery temp name", {{"hosts/web1/files/etc/.motd.fjord-tmp", "x"}},
     "is a name fjord uses for its own temp files", Match::part},
};

const std::vector<Accepted> accepted = {
    {"a sibling of a protected folder", {{"hosts/web1/files/etc/fjordish", "x"}}, {"/etc/fjordish"}},
    {"a symlink naming another symlink as its last component",
     {{"hosts/web1/files/x/l1", "target", EntryKind::symlink}, {"hosts/web1/files/x/l2", "l1", EntryKind::symlink}},
     {"/x/l1", "/x/l2"}},
    {"comments, continuations and blank lines in a unit",
     {{"hosts/web1/units/g.service", "# c\n[Unit]\nDescription=x\n\n[Service]\nExecStart=/bin/sh -c \\\n  'echo hi'\n"}},
     {"/etc/systemd/system/g.service"}},
    {"names of 255 bytes (a template's drops .tmpl)",
     {{"hosts/web1/files/etc/" + n255, "x"}, {"hosts/web1/files/" + n255 + "/x", "x"},
      {"hosts/web1/files/opt/" + std::string(255, 't') + ".tmpl", "x"}},
     {"/etc/" + n255, "/" + n255 + "/x", "/opt/" + std::string(255, 't')}},
    {"names close to fjord's temp names", {{"hosts/web1/files/etc/motd.fjord-tmp", "x"}, {"hosts/web1/files/etc/x.fjord-tmpl", "x"}},
     {"/etc/motd.fjord-tmp", "/etc/x.fjord-tmpl"}},
};

/// The host paths of a desired state, one a line, in order.
std::string host_paths(const DesiredState &ds) {
    std::string out;
    for (const auto &[path, f] : ds.files) out += path + "\n";
    return out;
}
std::string lines(const std::vector<std::string> &v) {
    std::string out;
    for (const auto &s : v) out += s + "\n";
    return out;
}

} // namespace

TEST_CASE("each tree of the refusals table is refused, with its message") {
    for (const Refusal &c : refusals) {
        INFO(c.name);
        auto r = render(tree_of(c.tree), web1());
        CHECK_FALSE(r);
        if (r) continue;
        const std::string &m = r.error().message;
        switch (c.match) {
        case Match::whole: CHECK(m == c.error); break;
        case Match::start: CHECK(m.find(c.error) == 0); break;
        case Match::part: CHECK(m.find(c.error) != std::string::npos); break;
        }
        if (c.code) CHECK(r.error().code == *c.code);
    }
}

TEST_CASE("each tree of the accepted table renders to its host paths") {
    for (const Accepted &c : accepted) {
        INFO(c.name);
        auto r = render(tree_of(c.tree), web1());
        CHECK_MESSAGE(r, (r ? "" : r.error().message));
        if (r) CHECK(host_paths(*r) == lines(c.paths));
    }
}
