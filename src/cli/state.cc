// vmshare state show
#include "cli/context.h"
#include "cli/json_out.h"
#include "core/ids.h"
#include "persist/schema.h"

namespace vmshare::cli {
namespace {

Result<int> Show(const GlobalOptions& g, const std::string& sid) {
  RETURN_IF_ERROR(ValidateId("sandbox", sid));
  ASSIGN_OR_RETURN(auto sb, OpenSandbox(g, sid));
  RETURN_IF_ERROR(sb->RequireRecorded());
  ASSIGN_OR_RETURN(persist::SandboxRecord rec, sb->Load());
  // Shown in Kata's field names, as persist.json holds them.
  persist::Json containers = persist::Json::object();
  for (const auto& [cid, state] : rec.containers)
    containers[cid] = persist::ContainerToJson(state, nullptr);
  persist::Json out = persist::Json::object();
  out["sandbox_id"] = sid;
  out["sandbox"] = persist::SandboxToJson(rec.sandbox, nullptr);
  out["containers"] = std::move(containers);
  PrintOrderedJson(out);
  return 0;
}

}  // namespace

void AddStateCommands(CLI::App& app, const GlobalOptions& g, Action* action) {
  auto* state = app.add_subcommand("state", "inspect persisted state");
  state->require_subcommand(1);
  auto sid = std::make_shared<std::string>();
  auto* show = state->add_subcommand("show", "the persisted sandbox and container state as JSON");
  show->add_option("SID", *sid, "sandbox id")->required();
  show->callback([&g, sid, action] { *action = [&g, sid] { return Show(g, *sid); }; });
}

}  // namespace vmshare::cli
