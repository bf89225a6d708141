#include "cli/completion.hpp"

#include <algorithm>

namespace fjord {
namespace {

std::string join(const std::vector<std::string> &v, const char *sep = " ") {
    std::string out;
    for (const auto &s : v) out += (out.empty() ? "" : sep) + s;
    return out;
}

std::vector<std::string> verb_names(const CliInfo &info) {
    std::vector<std::string> out;
    for (const auto &v : info.verbs) out.push_back(v.name);
    return out;
}

// Words inside single quotes, for either shell: ' becomes '\''.
std::string quoted(const std::string &s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

/// zsh _arguments' text for one option: '--var[help]:NAME=VALUE:', '*' when repeatable,
/// {-r,--recipient} for two names. Brackets and colons in the help are escaped.
std::string zsh_option(const CliOptionInfo &o) {
    std::string help;
    for (char c : o.help) help += (c == '[' || c == ']' || c == ':' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    std::string value;
    if (!o.value.empty()) value = ":" + o.value + ":" + (o.value == "FILE" ? "_files" : o.value == "DIR" ? "_directories" : std::string());
    std::string spec = help.empty() ? "" : "[" + help + "]";
    std::string rep = o.repeat ? "*" : "";
    if (o.names.size() == 1) return quoted(rep + o.names[0] + spec + value);
    std::string excl = o.repeat ? "" : "(" + join(o.names) + ")";
    return quoted(excl + rep) + "{" + join(o.names, ",") + "}" + quoted(spec + value);
}

} // namespace

std::string bash_completion(const CliInfo &info) {
    std::vector<std::string> global, with_value, with_dir;
    for (const auto &o : info.options) global.insert(global.end(), o.names.begin(), o.names.end());
    for (const auto &v : info.verbs)
        for (const auto &o : v.options)
            if (!o.value.empty() && o.names.back() != "--config")
                for (const auto &n : o.names) {
                    auto &to = o.value == "DIR" ? with_dir : with_value; // a folder: completed as one
                    if (std::find(to.begin(), to.end(), n) == to.end()) to.push_back(n);
                }
    std::string out = "# bash completion for fjordctl(1)                                  -*- shell-script -*-\n"
                      "# Made by `fjordctl completion bash` from fjordctl's own parser: do not edit.\n"
                      "_fjordctl() {\n"
                      "    local cur prev words cword\n"
                      "    _init_completion || return\n\n"
                      "    local verbs=" + quoted(join(verb_names(info))) + "\n"
                      "    local i verb=\"\"\n"
                      "    for ((i = 1; i < cword; i++)); do\n"
                      "        case ${words[i]} in\n"
                      "            --config) ((i++)) ;;\n"
                      "            -*) ;;\n"
                      "            *) verb=${words[i]}; break ;;\n"
                      "        esac\n"
                      "    done\n\n"
                      "    case $prev in\n"
                      "        --config) _filedir toml; return ;;\n";
    if (!with_dir.empty()) out += "        " + join(with_dir, " | ") + ") _filedir -d; return ;;\n";
    if (!with_value.empty()) out += "        " + join(with_value, " | ") + ") return ;; # a value of the user's own\n";
    out += "    esac\n"
           "    if [[ -z $verb ]]; then\n"
           "        if [[ $cur == -* ]]; then\n"
           "            COMPREPLY=($(compgen -W " + quoted(join(global)) + " -- \"$cur\"))\n"
           "        else\n"
           "            COMPREPLY=($(compgen -W \"$verbs\" -- \"$cur\"))\n"
           "        fi\n"
           "        return\n"
           "    fi\n\n"
           "    local opts=\"\" args=\"\"\n"
           "    case $verb in\n";
    for (const auto &v : info.verbs) {
        std::vector<std::string> names;
        for (const auto &o : v.options) names.insert(names.end(), o.names.begin(), o.names.end());
        std::string args;
        if (v.arg_kind == "dir") args = "args=_dirs";
        else if (v.arg_kind == "verbs") args = "args=$verbs";
        else if (v.arg_kind.rfind("words:", 0) == 0) args = "args=" + quoted(v.arg_kind.substr(6));
        out += "        " + v.name + ") opts=" + quoted(join(names)) + (args.empty() ? "" : "; " + args) + " ;;\n";
    }
    out += "        *) return ;;\n"
           "    esac\n"
           "    if [[ $cur == -* ]]; then\n"
           "        COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
           "    elif [[ $args == _dirs ]]; then\n"
           "        _filedir -d\n"
           "    elif [[ -n $args ]]; then\n"
           "        COMPREPLY=($(compgen -W \"$args\" -- \"$cur\"))\n"
           "    fi\n"
           "} &&\n"
           "    complete -F _fjordctl fjordctl\n";
    return out;
}

std::string zsh_completion(const CliInfo &info) {
    std::string out = "#compdef fjordctl\n"
                      "# zsh completion for fjordctl(1), made by `fjordctl completion zsh` from fjordctl's own parser:\n"
                      "# do not edit.\n"
                      "_fjordctl() {\n"
                      "  local curcontext=$curcontext state line ret=1\n"
                      "  typeset -A opt_args\n"
                      "  local -a verbs\n"
                      "  verbs=(\n";
    for (const auto &v : info.verbs) {
        std::string help;
        for (char c : v.help) help += c == ':' ? std::string("\\:") : std::string(1, c);
        out += "    " + quoted(v.name + ":" + help) + "\n";
    }
    out += "  )\n"
           "  _arguments -C \\\n";
    for (const auto &o : info.options) {
        if (o.names.back() == "--config") out += "    " + zsh_option(o) + " \\\n";
        // zsh expands {a,b} into one spec a name; a single name takes no braces ({--version} stays as is).
        else if (o.names.size() == 1) out += "    " + quoted("(- *)" + o.names.front() + "[" + o.help + "]") + " \\\n";
        else out += "    " + quoted("(- *)") + "{" + join(o.names, ",") + "}" + quoted("[" + o.help + "]") + " \\\n";
    }
    out += "    '1:verb:->verb' \\\n"
           "    '*::arg:->args' && ret=0\n"
           "  case $state in\n"
           "    verb) _describe -t verbs 'fjordctl verb' verbs && ret=0 ;;\n"
           "    args)\n"
           "      case $words[1] in\n";
    for (const auto &v : info.verbs) {
        out += "        " + v.name + ")\n          _arguments";
        for (const auto &o : v.options) out += " \\\n            " + zsh_option(o);
        if (v.max_args > 0) {
            std::string action;
            if (v.arg_kind == "dir") action = "_files -/";
            else if (v.arg_kind == "verbs") action = "_describe -t verbs 'fjordctl verb' verbs";
            else if (v.arg_kind.rfind("words:", 0) == 0) action = "(" + v.arg_kind.substr(6) + ")";
            out += " \\\n            " + quoted((v.max_args == 1 ? "1:" : "*:") + v.arg_name + ":" + action);
        }
        out += " && ret=0 ;;\n";
    }
    out += "      esac ;;\n"
           "  esac\n"
           "  return ret\n"
           "}\n"
           "_fjordctl \"$@\"\n";
    return out;
}

} // namespace fjord
