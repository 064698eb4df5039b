// vmshare gc [SID] [--dry-run]: remove what dead vmshare processes left
// behind (sandbox/collect.h has the rules), for one sandbox or every sandbox under
// --root, and print what was (or, with --dry-run, would be) done as JSON.
#include "cli/commands.h"
#include "cli/json_out.h"
#include "core/ids.h"
#include "sandbox/collect.h"

namespace vmshare::cli {
namespace {

struct GcArgs {
  std::string sid;
  bool sid_given = false;  // an explicit "" is an invalid id, not "all"
  bool dry_run = false;
};

using sandbox::GcAction;
using sandbox::GcReport;

nlohmann::ordered_json ReportJson(const GcReport& r) {
  nlohmann::ordered_json j;
  j["sandbox_id"] = r.sandbox_id;
  j["state"] = r.state;
  if (!r.skipped.empty()) j["skipped"] = r.skipped;
  nlohmann::ordered_json actions = nlohmann::ordered_json::array();
  for (const GcAction& a : r.actions) {
    nlohmann::ordered_json e;
    e["action"] = a.action;
    e["object"] = a.object;
    if (!a.detail.empty()) e["detail"] = a.detail;
    e["done"] = a.done;
    if (!a.error.empty()) e["error"] = a.error;
    actions.push_back(std::move(e));
  }
  j["actions"] = std::move(actions);
  if (!r.status.ok()) j["error"] = r.status.ToString();
  return j;
}

Result<int> Gc(const GlobalOptions& g, const GcArgs& a) {
  sys::Env* env = sys::Env::Default();
  std::vector<std::string> ids;
  if (a.sid_given) {
    RETURN_IF_ERROR(ValidateId("sandbox", a.sid));
    ids.push_back(a.sid);
  } else {
    ASSIGN_OR_RETURN(ids, sandbox::GcCandidates(env, g.root));
  }
  nlohmann::ordered_json out;
  out["dry_run"] = a.dry_run;
  out["sandboxes"] = nlohmann::ordered_json::array();
  Status first;
  int failed = 0;
  for (const std::string& sid : ids) {
    GcReport r = sandbox::CollectSandbox(env, g.root, sid, a.dry_run);
    if (!r.status.ok()) {
      ++failed;
      if (first.ok()) first = r.status;
    }
    out["sandboxes"].push_back(ReportJson(r));
  }
  PrintOrderedJson(out);
  if (!first.ok())
    return first.WithContext("gc: " + std::to_string(failed) + " sandbox(es) not fully collected");
  return 0;
}

}  // namespace

void AddGcCommand(CLI::App& app, const GlobalOptions& g, Action* action) {
  auto args = std::make_shared<GcArgs>();
  auto* gc =
      app.add_subcommand("gc",
                         "remove what crashed vmshare processes left behind (mounts, processes, "
                         "directories, state) for sandboxes no live vmshare holds");
  auto* sid =
      gc->add_option("SID", args->sid, "only this sandbox (default: every sandbox under --root)");
  gc->add_flag("--dry-run", args->dry_run, "print what would be done (JSON), change nothing");
  gc->callback([&g, args, sid, action] {
    args->sid_given = sid->count() > 0;
    *action = [&g, args] { return Gc(g, *args); };
  });
}

}  // namespace vmshare::cli
