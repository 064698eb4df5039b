// The guest-wide calls a Kata runtime makes in every pod: GetGuestDetails,
// SetGuestDateTime and the network calls.
//
// Network: vmshare guests have no network devices, and the agent does not
// configure any. It lists what the guest's namespace has, loopback left out
// (as a Kata runtime never configures it): for our guests, nothing. An
// update that names an interface the guest lacks fails kNotFound naming it;
// one for an interface that does exist fails kFailedPrecondition (changing
// devices is not done here); an empty update succeeds and changes nothing.
#pragma once

#include <string>
#include <vector>

#include "agent/messages.h"
#include "core/result.h"
#include "sys/env.h"

namespace vmshare::agent {

// The version the agent reports (GetGuestDetails, Health.Version).
extern const char kAgentVersion[];
// The ttrpc API version Kata's agent reports in Health.Version.
inline constexpr char kAgentApiVersion[] = "0.0.1";

GuestDetails GetGuestDetails(sys::Env* env, const GuestDetailsRequest& request, bool init_daemon);
Status SetGuestDateTime(sys::Env* env, const SetGuestDateTimeRequest& request);

Result<std::vector<NetInterface>> ListInterfaces(sys::Env* env);
// Routes from the namespace's main table (/proc/net/route, ipv6_route).
Result<std::vector<NetRoute>> ListRoutes(sys::Env* env, const std::string& proc_net = "/proc/net");
Result<NetInterface> UpdateInterface(sys::Env* env, const NetInterface& request);
Result<std::vector<NetRoute>> UpdateRoutes(sys::Env* env, const std::vector<NetRoute>& routes);
Status AddArpNeighbors(sys::Env* env, const std::vector<ArpNeighbor>& neighbors);

}  // namespace vmshare::agent
