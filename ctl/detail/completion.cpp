// ctl completion bash|zsh: scripts generated from the CLI11 command tree, so
// they never fall behind the commands.
#include <map>
#include <sstream>

#include "CLI/CLI.hpp"
#include "ctl/detail/commands.hpp"

namespace fc::ctl {

namespace {

// "path" (space-joined subcommand names below ctl, "" for ctl itself) → words.
void collect_words(const CLI::App& app, const std::string& path,
                   std::map<std::string, std::string>& out) {
  std::string words;
  auto subs = const_cast<CLI::App&>(app).get_subcommands([](CLI::App*) { return true; });
  for (const auto* s : subs) {
    if (s->get_group().empty()) continue;  // hidden
    words += s->get_name() + " ";
    collect_words(*s, path.empty() ? s->get_name() : path + " " + s->get_name(), out);
    for (const auto& a : s->get_aliases()) {
      collect_words(*s, path.empty() ? a : path + " " + a, out);
    }
  }
  for (const auto* o : app.get_options())
    for (const auto& l : o->get_lnames()) words += "--" + l + " ";
  out[path] = words;
}

std::string bash_script(const std::map<std::string, std::string>& words) {
  std::ostringstream s;
  s << "# bash completion for fleetcommand ctl; source it or put it in\n"
       "# /etc/bash_completion.d/fleetcommand\n"
       "_fleetcommand_ctl() {\n"
       "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" path=\"\" w i\n"
       "  [ \"${COMP_WORDS[1]}\" = ctl ] || { COMPREPLY=($(compgen -W \"ctl agent serve version\" "
       "-- \"$cur\")); return; }\n"
       "  for ((i = 2; i < COMP_CWORD; i++)); do\n"
       "    w=\"${COMP_WORDS[i]}\"\n"
       "    case \"$w\" in -*) continue ;; esac\n"
       "    if [ -n \"$(_fleetcommand_ctl_words \"${path:+$path }$w\")\" ]; then "
       "path=\"${path:+$path }$w\"; fi\n"
       "  done\n"
       "  COMPREPLY=($(compgen -W \"$(_fleetcommand_ctl_words \"$path\")\" -- \"$cur\"))\n"
       "}\n"
       "_fleetcommand_ctl_words() {\n"
       "  case \"$1\" in\n";
  for (const auto& [path, w] : words) s << "    \"" << path << "\") echo \"" << w << "\" ;;\n";
  s << "  esac\n}\ncomplete -F _fleetcommand_ctl fleetcommand\n";
  return s.str();
}

std::string zsh_script(const std::map<std::string, std::string>& words) {
  std::ostringstream s;
  s << "#compdef fleetcommand\n"
       "# zsh completion for fleetcommand ctl; put it in a directory of $fpath as _fleetcommand\n"
       "_fleetcommand() {\n"
       "  local -A ctl_words\n";
  for (const auto& [path, w] : words) s << "  ctl_words[\"" << path << "\"]=\"" << w << "\"\n";
  s << "  if (( CURRENT == 2 )); then compadd ctl agent serve version; return; fi\n"
       "  [[ ${words[2]} == ctl ]] || return\n"
       "  local path=\"\" w i\n"
       "  for (( i = 3; i < CURRENT; i++ )); do\n"
       "    w=${words[i]}\n"
       "    [[ $w == -* ]] && continue\n"
       "    if (( ${+ctl_words[${path:+$path }$w]} )); then path=\"${path:+$path }$w\"; fi\n"
       "  done\n"
       "  compadd -- ${=ctl_words[$path]}\n"
       "}\n"
       "compdef _fleetcommand fleetcommand\n";
  return s.str();
}

}  // namespace

std::string completion_script(const CLI::App& root, const std::string& shell) {
  std::map<std::string, std::string> words;
  collect_words(root, "", words);
  return shell == "zsh" ? zsh_script(words) : bash_script(words);
}

void add_completion_command(CLI::App& root, Env& env) {
  auto* cmd = root.add_subcommand("completion", "Print a shell completion script (bash or zsh)");
  auto shell = std::make_shared<std::string>();
  cmd->add_option("SHELL", *shell, "bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));
  cmd->footer(
      "Examples:\n  source <(fleetcommand ctl completion bash)\n"
      "  fleetcommand ctl completion zsh > \"${fpath[1]}/_fleetcommand\"");
  const CLI::App* r = &root;
  on_run(cmd, env, [&env, shell, r] {
    *env.out << completion_script(*r, *shell);
    return kExitOk;
  });
}

}  // namespace fc::ctl
