#include "manifest/template.hpp"

#include <algorithm>
#include <exception>
#include <kainjow/mustache.hpp>
#include <vector>

// kainjow::mustache renders a missing name as an empty string and knows no line numbers. So a
// pre-pass (prepare) rewrites every tag's name to carry its line, column and kind ("name\x1f12:5\x1fv"),
// and StrictContext resolves names itself: an undefined one stops the render with an error
// naming the line. The pre-pass also puts a counter tag at the start of every section body, so
// the work a render does (nested sections over long lists) is bounded before it is done.
// kainjow throws only what the standard library throws; this file's own errors are thrown
// from the context to stop kainjow mid-walk, and everything is caught in render_template.

namespace fjord {
namespace mus = kainjow::mustache;

struct TemplateValues::Impl {
    mus::data root;
};

namespace {

constexpr char mark = '\x1f';                        // never in a name a template may use
constexpr std::uint64_t max_lookups = 10'000'000;    // about a second of work
// kainjow parses and renders sections recursively: 100,000 nested {{#on}} overflowed the render
// child's stack. Real templates nest sections 1 to 4 deep.
constexpr std::size_t max_section_depth = 64;

mus::data to_data(const VarValue &v) {
    switch (v.kind) {
    case VarValue::Kind::string:
    case VarValue::Kind::number: return mus::data(v.text);
    case VarValue::Kind::boolean: return mus::data(v.text == "true" ? mus::data::type::bool_true : mus::data::type::bool_false);
    case VarValue::Kind::list: {
        mus::data l(mus::data::type::list);
        for (const auto &e : v.items) l.push_back(to_data(e));
        return l;
    }
    case VarValue::Kind::table: {
        mus::data o(mus::data::type::object);
        for (const auto &[k, e] : v.fields) o.set(k, to_data(e));
        return o;
    }
    }
    return mus::data(std::string());
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool blank(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

std::size_t count_lines(std::string_view s) { return std::size_t(std::count(s.begin(), s.end(), '\n')); }

/// A template rewritten for kainjow, with the literal text each section body holds.
struct Prepared {
    std::string text;
    std::vector<std::uint64_t> body_text; ///< by section number: bytes of text in its body, not in nested sections
};

struct Failure {
    std::string at; ///< "LINE:COL" of the tag (the column in bytes, from 1); "": none
    std::string why;
};

Result<Prepared> prepare(std::string_view text, const std::string &origin) {
    struct Open {
        std::string name, tag;
        std::size_t line;
        std::string at;
        std::size_t id;
    };
    Prepared p;
    std::vector<Open> open_sections;
    std::size_t pos = 0, line = 1;
    auto error = [&](const std::string &at, const std::string &why) { return fail(Errc::invalid, origin + ":" + at + ": " + why); };
    auto literal = [&](std::string_view s) {
        p.text += s;
        if (!open_sections.empty()) p.body_text[open_sections.back().id] += s.size();
    };
    while (pos < text.size()) {
        std::size_t open = text.find("{{", pos);
        if (open == std::string_view::npos) open = text.size();
        literal(text.substr(pos, open - pos));
        line += count_lines(text.substr(pos, open - pos));
        if (open == text.size()) break;

        std::size_t nl = open == 0 ? std::string_view::npos : text.rfind('\n', open - 1);
        std::size_t line_start = nl == std::string_view::npos ? 0 : nl + 1;
        std::string at = std::to_string(line) + ":" + std::to_string(open - line_start + 1);
        bool triple = text.compare(open, 3, "{{{") == 0;
        std::string_view closer = triple ? "}}}" : "}}";
        std::size_t body_at = open + (triple ? 3 : 2);
        std::size_t close = text.find(closer, body_at);
        if (close == std::string_view::npos) return error(at, "\"{{\" is not closed");
        std::string_view tag = text.substr(open, close + closer.size() - open);
        std::size_t tag_line = line, end = close + closer.size();
        line += count_lines(tag);
        std::string_view name = trim(text.substr(body_at, close - body_at));
        char sigil = triple || name.empty() ? '\0' : name.front();

        // A comment or section tag alone on its line takes the line with it, as Mustache
        // specifies (kainjow keeps the line of a section that does not show), so templates do
        // not leave blank lines in the rendered file.
        std::size_t line_end = text.find('\n', end);
        if (line_end == std::string_view::npos) line_end = text.size();
        bool standalone = (sigil == '!' || sigil == '#' || sigil == '^' || sigil == '/') &&
                          blank(text.substr(line_start, open - line_start)) && blank(text.substr(end, line_end - end));
        if (standalone) {
            // The indent dropped here was counted as the open section's text: uncount it, so
            // that what a render spends never exceeds what it outputs.
            p.text.resize(p.text.size() - (open - line_start));
            if (!open_sections.empty()) p.body_text[open_sections.back().id] -= open - line_start;
            if (line_end < text.size()) ++line;
            end = line_end < text.size() ? line_end + 1 : line_end;
        }
        if (sigil == '!') {
            pos = end;
            continue;
        }
        if (sigil == '>') return error(at, std::string(tag) + ": partials are not supported");
        if (sigil == '=') return error(at, std::string(tag) + ": changing delimiters is not supported");
        if (sigil == '#' || sigil == '^' || sigil == '/' || sigil == '&') name = trim(name.substr(1));
        if (name.empty()) return error(at, std::string(tag) + ": empty name");
        if (name.find_first_of(std::string_view("\x1f{}\n", 4)) != std::string_view::npos)
            return error(at, std::string(tag) + ": not a valid name");
        const std::string &ln = at;
        if (sigil == '#' || sigil == '^') {
            if (open_sections.size() == max_section_depth)
                return error(at, "sections nest deeper than " + std::to_string(max_section_depth) + " (" +
                                           std::string(tag) + " opens one more)");
            std::string annotated = std::string(name) + mark + ln + mark + "s";
            std::size_t id = p.body_text.size();
            p.body_text.push_back(0);
            p.text += "{{" + std::string(1, sigil) + annotated + "}}{{" + mark + "T" + std::to_string(id) + "}}";
            open_sections.push_back({std::string(name), annotated, tag_line, at, id});
        } else if (sigil == '/') {
            if (open_sections.empty()) return error(at, std::string(tag) + ": closes no open section");
            if (open_sections.back().name != name)
                return error(at, std::string(tag) + ": the open section is {{#" + open_sections.back().name +
                                           "}} from line " + std::to_string(open_sections.back().line));
            p.text += "{{/" + open_sections.back().tag + "}}";
            open_sections.pop_back();
        } else {
            // Everything is raw: config files are not HTML.
            p.text += "{{&" + std::string(name) + mark + ln + mark + "v}}";
        }
        pos = end;
    }
    if (!open_sections.empty())
        return error(open_sections.back().at, "{{#" + open_sections.back().name + "}} is not closed");
    return p;
}

/// Resolves names as Mustache does (innermost section first), but refuses what kainjow would
/// quietly render as nothing.
class StrictContext : public mus::basic_context<std::string> {
  public:
    /// `budget`: what this template may spend; `total_budget`: what all templates still may.
    /// `names`: when set, a name that is undefined (or a table or list where text goes) is
    /// added there (once for its line, at most max_per_file) and renders as nothing, so every
    /// one is found in one render; otherwise the first stops the render.
    StrictContext(const mus::data &root, const Prepared &p, std::uint64_t budget, std::uint64_t total_budget,
                  std::set<std::string> *used, std::vector<Failure> *names = nullptr)
        : prepared_(p), budget_(budget), total_budget_(total_budget), used_(used), names_(names) {
        items_.push_back(&root);
    }

    void push(const mus::data *d) override { items_.push_back(d); }
    void pop() override { items_.pop_back(); }

    const mus::data *get(const std::string &tag) const override {
        if (++lookups_ > max_lookups)
            throw Failure{"", "does too much work (over " + std::to_string(max_lookups) +
                                 " lookups: sections nested over long lists?)"};
        if (tag.size() > 2 && tag[0] == mark && tag[1] == 'T') {
            spend(prepared_.body_text.at(std::stoul(tag.substr(2))));
            return &empty_;
        }
        std::size_t a = tag.find(mark), b = tag.find(mark, a + 1);
        std::string name = tag.substr(0, a);
        std::string line = tag.substr(a + 1, b - a - 1);
        bool variable = tag.back() == 'v';
        const mus::data *d = resolve(name);
        if (!d) return bad(Failure{line, "undefined variable \"" + name + "\" (not in [vars] nor a host fact)"}, variable);
        if (!variable) return d;
        if (d->is_string()) {
            spend(d->string_value().size());
            return d;
        }
        if (d->is_true()) return &true_;
        if (d->is_false()) return &false_;
        std::string what = d->is_list() ? "a list" : "a table";
        return bad(Failure{line, "\"" + name + "\" is " + what + "; use a section: {{#" + name + "}}...{{/" + name + "}}"}, true);
    }

    const mus::data *get_partial(const std::string &) const override { return nullptr; }

  private:
    /// A bad name: thrown, or noted and rendered as nothing (a section as false).
    const mus::data *bad(Failure f, bool variable) const {
        if (!names_) throw std::move(f);
        // A section over a list looks its names up once per element: each is noted once.
        bool seen = std::any_of(names_->begin(), names_->end(), [&](const Failure &n) { return n.at == f.at && n.why == f.why; });
        if (!seen && names_->size() < Diagnostics::max_per_file) names_->push_back(std::move(f));
        return variable ? &empty_ : &false_;
    }

    const mus::data *resolve(const std::string &name) const {
        if (name == ".") return items_.back();
        std::vector<std::string> parts;
        for (std::size_t i = 0, j; i <= name.size(); i = j + 1) {
            j = std::min(name.find('.', i), name.size());
            parts.push_back(name.substr(i, j - i));
        }
        for (std::size_t k = items_.size(); k-- > 0;) {
            const mus::data *d = items_[k]->get(parts[0]);
            if (!d) continue;
            // Found the first part: the rest must resolve from here (the Mustache spec's rule).
            if (k == 0 && used_ && (parts[0] == "host" || parts[0] == "fjord")) used_->insert(name);
            for (std::size_t i = 1; d && i < parts.size(); ++i) d = child(*d, parts[i]);
            return d;
        }
        return nullptr;
    }

    static const mus::data *child(const mus::data &d, const std::string &part) {
        if (d.is_object()) return d.get(part);
        if (!d.is_list() || part.empty() || part.size() > 9 || !std::all_of(part.begin(), part.end(), ::isdigit)) return nullptr;
        std::size_t i = std::stoul(part);
        return i < d.list_value().size() ? &d.list_value()[i] : nullptr;
    }

    void spend(std::uint64_t bytes) const {
        spent_ += bytes;
        if (spent_ > budget_) throw Failure{"", "too big"};
        if (spent_ > total_budget_) throw Failure{"", "total"};
    }

    const Prepared &prepared_;
    std::uint64_t budget_, total_budget_;
    std::set<std::string> *used_;
    std::vector<Failure> *names_;
    std::vector<const mus::data *> items_;
    mutable std::uint64_t lookups_ = 0, spent_ = 0;
    const mus::data empty_{std::string()}, true_{std::string("true")}, false_{std::string("false")};
};

/// Collects the output, refusing it past the template's limit or the render's.
struct Sink {
    std::string out;
    std::uint64_t max;
    std::uint64_t total_left;
    Sink &operator<<(const std::string &s) {
        if (out.size() + s.size() > max) throw Failure{"", "too big"};
        if (out.size() + s.size() > total_left) throw Failure{"", "total"};
        out += s;
        return *this;
    }
};


Result<std::string> render_one(std::string_view text, const mus::data &root, const std::string &origin,
                               std::uint64_t max_size, std::set<std::string> *facts_used, RenderBudget *total,
                               std::vector<Failure> *names) {
    auto prepared = prepare(text, origin);
    if (!prepared) return fail(prepared.error());
    auto too_big = [&] {
        return fail(Errc::refused, origin + ": rendered content is larger than apply.max_file_size (" +
                                       std::to_string(max_size) + " bytes)");
    };
    std::uint64_t total_left = total ? total->max - std::min(total->used, total->max) : UINT64_MAX;
    auto over_total = [&] {
        return fail(Errc::invalid, origin + ": rendering it takes the output of this commit's templates past " +
                                       std::to_string(total->max) + " bytes, the limit for all templates of one render");
    };
    try {
        mus::mustache tmpl(prepared->text);
        if (!tmpl.is_valid()) return fail(Errc::invalid, origin + ": " + tmpl.error_message());
        tmpl.set_custom_escape([](const std::string &s) { return s; });
        // Lines are buffered inside kainjow until they end: the budget (literal text of the
        // section bodies rendered, plus values) bounds that buffer to a small multiple of the limit.
        // The output is at least what was spent, so spending past what is left of the total is
        // sure to pass it: a 1 MiB value repeated on one line stops there, before kainjow builds it.
        StrictContext ctx(root, *prepared, 2 * max_size + text.size(), total_left, facts_used, names);
        Sink sink{{}, max_size, total_left};
        tmpl.render(ctx, sink);
        if (!tmpl.is_valid()) return fail(Errc::invalid, origin + ": " + tmpl.error_message());
        if (names && !names->empty()) return fail(Errc::invalid, origin + ":" + names->front().at + ": " + names->front().why);
        if (total) total->used += sink.out.size();
        return std::move(sink.out);
    } catch (const Failure &f) {
        if (f.why == "too big") return too_big();
        if (f.why == "total") return over_total();
        return fail(Errc::invalid, origin + (f.at.empty() ? std::string() : ":" + f.at) + ": " + f.why);
    } catch (const std::bad_alloc &) {
        return fail(Errc::refused, origin + ": out of memory rendering the template");
    } catch (const std::exception &e) {
        return fail(Errc::invalid, origin + ": template: " + e.what());
    }
}

} // namespace

TemplateValues::TemplateValues(const VarTable &root) : impl_(std::make_unique<Impl>()) {
    impl_->root = mus::data(mus::data::type::object);
    for (const auto &[k, v] : root) impl_->root.set(k, to_data(v));
}

TemplateValues::~TemplateValues() = default;

Result<std::string> render_template(std::string_view text, const TemplateValues &values, const std::string &origin,
                                    std::uint64_t max_size, std::set<std::string> *facts_used, RenderBudget *total,
                                    Diagnostics *all) {
    std::vector<Failure> names;
    auto out = render_one(text, values.impl_->root, origin, max_size, facts_used, total, all ? &names : nullptr);
    if (!all) return out;
    auto message = [&](const Failure &f) { return origin + ":" + f.at + ": " + f.why; };
    for (const auto &f : names) all->add(origin, Error{Errc::invalid, message(f)});
    // The render stopped short of the end (or never began): that error too, unless it is one of the names.
    if (!out && std::none_of(names.begin(), names.end(), [&](const Failure &f) { return message(f) == out.error().message; }))
        all->add(origin, out.error());
    if (out && !names.empty()) return fail(Errc::invalid, message(names.front()));
    return out;
}

} // namespace fjord
