#pragma once
// Mustache templates (`.tmpl` files), rendered with kainjow::mustache (Debian's
// libkainjow-mustache-dev) under fjord's rules: nothing is escaped, a name that is not defined
// is an error naming the template, the line and the name (never an empty string), partials and
// delimiter changes are refused, and the output is bounded.
#include "manifest/vars.hpp"
#include "util/diagnostics.hpp"
#include "util/result.hpp"
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>

namespace fjord {

/// The output of all templates of one render, counted as they render: each template stops as
/// soon as the running total passes `max`, before its output is built.
struct RenderBudget {
    std::uint64_t max = 0;
    std::uint64_t used = 0; ///< bytes the templates rendered so far produced
};

/// The values templates see ([vars] merged, plus the facts "host" and "fjord"), converted once
/// for every template of a render.
class TemplateValues {
  public:
    explicit TemplateValues(const VarTable &root);
    ~TemplateValues();
    TemplateValues(const TemplateValues &) = delete;
    TemplateValues &operator=(const TemplateValues &) = delete;

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
    friend Result<std::string> render_template(std::string_view, const TemplateValues &, const std::string &,
                                               std::uint64_t, std::set<std::string> *, RenderBudget *, Diagnostics *);
};

/// Renders `text`. {{name}}, {{{name}}} and {{&name}} substitute verbatim; {{#name}}..{{/name}}
/// repeats over a list, or shows once for any other value but false and the empty list;
/// {{^name}} is its inverse; {{! comment}} vanishes (with its line when it stands alone);
/// dotted names reach into tables ({{db.port}}) and lists by index ({{servers.0}}); {{.}} is
/// the current list element. Every name a tag looks up must be defined, section names too:
/// `tls = false` in a bundle is how a host opts out of {{#tls}}..{{/tls}}. Inside a section
/// that does not render (false, empty list), nothing is looked up, so nothing is checked.
/// Sections nest at most 64 deep. Errors read "ORIGIN:LINE:COL: why" (the tag's column, in bytes); output over `max_size`
/// bytes is refused, and so is output that takes `total` past its max (the output is added to
/// it). Names of facts (host.*, fjord.*) that were looked up are added to `facts_used` when given.
/// With `all`, every undefined name (and table or list used as text) is added there, each
/// once, and renders as nothing so the next is found too; the render still fails, with the
/// first. Any other error of the template is added there as well.
[[nodiscard]] Result<std::string> render_template(std::string_view text, const TemplateValues &values,
                                                  const std::string &origin, std::uint64_t max_size,
                                                  std::set<std::string> *facts_used = nullptr,
                                                  RenderBudget *total = nullptr, Diagnostics *all = nullptr);

} // namespace fjord
