// The guest calls' parsing and checks that need no guest: the routing
// tables of /proc/net (from files written here), date validation, and the
// network calls' answers in a namespace with no devices but loopback.
#include "agent/server/guest_calls.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <filesystem>

#include "support/test_util.h"

namespace vmshare::agent {
namespace {

sys::Env* env() { return sys::Env::Default(); }

TEST(GuestCallsTest, ParsesRoutesAndLeavesLoopbackOut) {
  testing::TempDir tmp;
  testing::WriteFile(
      tmp / "route",
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
      "eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
      "eth0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
      "lo\t0000007F\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0\n");
  testing::WriteFile(tmp / "ipv6_route",
                     "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 "
                     "00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n"
                     "00000000000000000000000000000001 80 00000000000000000000000000000000 00 "
                     "00000000000000000000000000000000 00000000 00000002 00000000 80200001 lo\n");
  auto routes = ListRoutes(env(), tmp.path());
  ASSERT_TRUE(routes.ok()) << routes.status().ToString();
  ASSERT_EQ(routes->size(), 3u);
  EXPECT_EQ((*routes)[0], (NetRoute{"", "10.0.0.1", "eth0", "", 0, false}));  // default
  EXPECT_EQ((*routes)[1], (NetRoute{"10.0.0.0/24", "", "eth0", "", 0, false}));
  EXPECT_EQ((*routes)[2], (NetRoute{"fe80::/64", "", "eth0", "", 0, true}));
}

TEST(GuestCallsTest, BadDateIsRefusedBeforeTheClockIsTouched) {
  Status s = SetGuestDateTime(env(), {1700000000, 1000000});
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  EXPECT_EQ(SetGuestDateTime(env(), {-1, 0}).code(), Code::kInvalidArgument);
}

TEST(GuestCallsTest, NoDevicesMeansEmptyListsAndNamedErrors) {
  if (!env()->Unshare(CLONE_NEWNET).ok()) GTEST_SKIP() << "needs a network namespace of its own";
  auto ifaces = ListInterfaces(env());
  ASSERT_TRUE(ifaces.ok()) << ifaces.status().ToString();
  EXPECT_TRUE(ifaces->empty());  // only lo, left out
  NetInterface eth;
  eth.name = "eth7";
  auto up = UpdateInterface(env(), eth);
  EXPECT_EQ(up.status().code(), Code::kNotFound);
  EXPECT_NE(up.status().message().find("\"eth7\""), std::string::npos) << up.status().ToString();
  EXPECT_EQ(UpdateInterface(env(), NetInterface{}).status().code(), Code::kInvalidArgument);
  ArpNeighbor n;
  n.device = "eth7";
  Status arp = AddArpNeighbors(env(), {n});
  EXPECT_EQ(arp.code(), Code::kNotFound);
  EXPECT_NE(arp.message().find("\"eth7\""), std::string::npos);
  ASSERT_OK(AddArpNeighbors(env(), {}));
  GuestDetails d = GetGuestDetails(env(), {false, false}, false);
  EXPECT_EQ(d.mem_block_size_bytes, 0u);
  EXPECT_EQ(d.agent_version, kAgentVersion);
}

}  // namespace
}  // namespace vmshare::agent
