// Wire vectors of the process, cgroup, network and guest calls, built by
// hand from Kata's field numbers (agent.proto, oci.proto, types.proto,
// health.proto), checked both ways: our encoding is the vector, the vector
// decodes to the value.
#include <gtest/gtest.h>

#include <string>

#include "agent/translate.h"
#include "agent/wire_bytes.h"

namespace vmshare::agent {
namespace {

using testing::Bytes;

// A length-delimited field (values here are < 128 bytes).
std::string Field(int number, const std::string& value) {
  std::string s;
  s.push_back(static_cast<char>(number << 3 | 2));
  s.push_back(static_cast<char>(value.size()));
  return s + value;
}

// A varint field.
std::string Varint(int number, uint64_t v) {
  std::string s;
  s.push_back(static_cast<char>(number << 3));
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    if (v) b |= 0x80;
    s.push_back(static_cast<char>(b));
  } while (v);
  return s;
}

template <typename T, typename Enc, typename Dec>
void BothWays(const T& value, const std::string& want, Enc encode, Dec decode) {
  EXPECT_EQ(encode(value), want);
  auto back = decode(want);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, value);
}

TEST(WireCallsTest, ExecProcessRequest) {
  ExecProcessRequest r;
  r.process = {"c1", "e1"};
  r.spec.terminal = true;
  r.spec.console_height = 24;
  r.spec.console_width = 80;
  r.spec.args = {"sh"};
  r.spec.env = {"A=1"};
  r.spec.cwd = "/w";
  r.spec.uid = 7;
  r.spec.gid = 8;
  r.spec.additional_gids = {9};
  // Process: 1 Terminal, 2 ConsoleSize{1 Height, 2 Width}, 3 User{1 UID, 2
  // GID, 3 AdditionalGids (packed)}, 4 Args, 5 Env, 6 Cwd.
  const std::string process = Varint(1, 1) + Field(2, Varint(1, 24) + Varint(2, 80)) +
                              Field(3, Varint(1, 7) + Varint(2, 8) + Field(3, Bytes({9}))) +
                              Field(4, "sh") + Field(5, "A=1") + Field(6, "/w");
  // ExecProcessRequest: 1 container_id, 2 exec_id, 4 process.
  const std::string want = Field(1, "c1") + Field(2, "e1") + Field(4, process);
  BothWays(r, want, EncodeExecProcessRequest, DecodeExecProcessRequest);
}

TEST(WireCallsTest, SignalWriteCloseResize) {
  BothWays(SignalProcessRequest{{"c1", "e1"}, 15}, Field(1, "c1") + Field(2, "e1") + Varint(3, 15),
           EncodeSignalProcessRequest, DecodeSignalProcessRequest);
  BothWays(WriteStreamRequest{{"c1", "e1"}, "hi\n"},
           Field(1, "c1") + Field(2, "e1") + Field(3, "hi\n"), EncodeWriteStreamRequest,
           DecodeWriteStreamRequest);
  BothWays(uint32_t{3}, Varint(1, 3), EncodeWriteStreamResponse, DecodeWriteStreamResponse);
  BothWays(ProcessRef{"c1", "e1"}, Field(1, "c1") + Field(2, "e1"), EncodeCloseStdinRequest,
           DecodeCloseStdinRequest);
  BothWays(TtyWinResizeRequest{{"c1", "e1"}, 40, 100},
           Field(1, "c1") + Field(2, "e1") + Varint(3, 40) + Varint(4, 100),
           EncodeTtyWinResizeRequest, DecodeTtyWinResizeRequest);
}

TEST(WireCallsTest, ContainerIdRequests) {
  const std::string want = Field(1, "c1");
  BothWays(std::string("c1"), want, EncodeStatsContainerRequest, DecodeStatsContainerRequest);
  BothWays(std::string("c1"), want, EncodePauseContainerRequest, DecodePauseContainerRequest);
  BothWays(std::string("c1"), want, EncodeResumeContainerRequest, DecodeResumeContainerRequest);
}

TEST(WireCallsTest, UpdateContainerRequest) {
  UpdateContainerRequest r;
  r.container_id = "c1";
  r.resources.memory_limit = 1 << 20;
  r.resources.cpu_quota = 50000;
  r.resources.cpu_period = 100000;
  r.resources.cpu_cpus = "0";
  r.resources.pids_limit = 10;
  // LinuxResources: 2 Memory{1 Limit, 2 Reservation, 3 Swap}, 3 CPU{1
  // Shares, 2 Quota, 3 Period, 6 Cpus, 7 Mems}, 4 Pids{1 Limit}. proto3
  // leaves zero scalars out.
  const std::string resources = Field(2, Varint(1, 1 << 20)) +
                                Field(3, Varint(2, 50000) + Varint(3, 100000) + Field(6, "0")) +
                                Field(4, Varint(1, 10));
  BothWays(r, Field(1, "c1") + Field(2, resources), EncodeUpdateContainerRequest,
           DecodeUpdateContainerRequest);
}

TEST(WireCallsTest, StatsContainerResponse) {
  ContainerStats s;
  s.cpu_total_ns = 5000;
  s.cpu_user_ns = 3000;
  s.cpu_kernel_ns = 2000;
  s.memory_usage = 4096;
  s.memory_limit = 8192;
  s.memory_stats = {{"anon", 7}};
  s.pids_current = 2;
  s.pids_limit = 64;
  // CgroupStats: 1 cpu_stats{1 cpu_usage{1 total, 3 kernel, 4 user}, 2
  // throttling_data{}}, 2 memory_stats{2 usage{1 usage, 4 limit}, 3
  // swap_usage{}, 5 use_hierarchy, 6 stats map<string,uint64>}, 3
  // pids_stats{1 current, 2 limit}.
  const std::string cpu =
      Field(1, Varint(1, 5000) + Varint(3, 2000) + Varint(4, 3000)) + Field(2, "");
  const std::string mem = Field(2, Varint(1, 4096) + Varint(4, 8192)) + Field(3, "") +
                          Varint(5, 1) + Field(6, Field(1, "anon") + Varint(2, 7));
  const std::string cgroup = Field(1, cpu) + Field(2, mem) + Field(3, Varint(1, 2) + Varint(2, 64));
  BothWays(s, Field(1, cgroup), EncodeStatsContainerResponse, DecodeStatsContainerResponse);
}

TEST(WireCallsTest, ListProcesses) {
  BothWays(ListProcessesRequest{"c1", "json", {"-ef"}},
           Field(1, "c1") + Field(2, "json") + Field(3, "-ef"), EncodeListProcessesRequest,
           DecodeListProcessesRequest);
  BothWays(
      std::string("[1,2]"), Field(1, "[1,2]"),
      [](const std::string& v) { return EncodeListProcessesResponse(v); },
      DecodeListProcessesResponse);
}

TEST(WireCallsTest, NetworkMessages) {
  NetInterface i;
  i.device = "eth0";
  i.name = "eth0";
  i.addresses = {{false, "10.0.0.2", "24"}, {true, "fe80::1", "64"}};
  i.mtu = 1500;
  i.hw_addr = "02:00:00:00:00:01";
  i.raw_flags = 0x1003;
  // types.Interface: 1 device, 2 name, 3 IPAddresses{1 family (v4 = 0), 2
  // address, 3 mask}, 4 mtu, 5 hwAddr, 6 pciPath, 7 type, 8 raw_flags.
  const std::string iface = Field(1, "eth0") + Field(2, "eth0") +
                            Field(3, Field(2, "10.0.0.2") + Field(3, "24")) +
                            Field(3, Varint(1, 1) + Field(2, "fe80::1") + Field(3, "64")) +
                            Varint(4, 1500) + Field(5, "02:00:00:00:00:01") + Varint(8, 0x1003);
  BothWays(i, iface, EncodeInterface, DecodeInterface);
  BothWays(i, Field(1, iface), EncodeUpdateInterfaceRequest, DecodeUpdateInterfaceRequest);
  BothWays(std::vector<NetInterface>{i}, Field(1, iface), EncodeInterfaces, DecodeInterfaces);
  BothWays(std::vector<NetInterface>{}, std::string(), EncodeInterfaces, DecodeInterfaces);

  NetRoute r{"10.0.0.0/24", "10.0.0.1", "eth0", "10.0.0.2", 253, true};
  // types.Route: 1 dest, 2 gateway, 3 device, 4 source, 5 scope, 6 family.
  const std::string route = Field(1, "10.0.0.0/24") + Field(2, "10.0.0.1") + Field(3, "eth0") +
                            Field(4, "10.0.0.2") + Varint(5, 253) + Varint(6, 1);
  // Routes{1 Routes}; UpdateRoutesRequest{1 routes}.
  BothWays(std::vector<NetRoute>{r}, Field(1, route), EncodeRoutes, DecodeRoutes);
  BothWays(std::vector<NetRoute>{r}, Field(1, Field(1, route)), EncodeUpdateRoutesRequest,
           DecodeUpdateRoutesRequest);
  EXPECT_EQ(EncodeUpdateRoutesRequest({}), Field(1, ""));

  ArpNeighbor n;
  n.to_ip = IpAddress{false, "10.0.0.9", ""};
  n.device = "eth0";
  n.lladdr = "02:00:00:00:00:09";
  n.state = 128;
  n.flags = 1;
  // AddARPNeighborsRequest{1 neighbors: ARPNeighbors{1 ARPNeighbors:
  // ARPNeighbor{1 toIPAddress, 2 device, 3 lladdr, 4 state, 5 flags}}}.
  const std::string neighbor = Field(1, Field(2, "10.0.0.9")) + Field(2, "eth0") +
                               Field(3, "02:00:00:00:00:09") + Varint(4, 128) + Varint(5, 1);
  BothWays(std::vector<ArpNeighbor>{n}, Field(1, Field(1, neighbor)), EncodeAddArpNeighborsRequest,
           DecodeAddArpNeighborsRequest);
}

TEST(WireCallsTest, GuestDetails) {
  BothWays(GuestDetailsRequest{true, true}, Varint(1, 1) + Varint(2, 1), EncodeGuestDetailsRequest,
           DecodeGuestDetailsRequest);
  GuestDetails d;
  d.mem_block_size_bytes = 0x8000000;
  d.support_mem_hotplug_probe = true;
  d.agent_version = "1.0";
  d.init_daemon = true;
  d.storage_handlers = {"local"};
  // GuestDetailsResponse: 1 mem_block_size_bytes, 2 agent_details{1 version,
  // 2 init_daemon, 3 device_handlers, 4 storage_handlers, 5
  // supports_seccomp, 6 extra_features}, 3 support_mem_hotplug_probe.
  const std::string want = Varint(1, 0x8000000) +
                           Field(2, Field(1, "1.0") + Varint(2, 1) + Field(4, "local")) +
                           Varint(3, 1);
  BothWays(d, want, EncodeGuestDetailsResponse, DecodeGuestDetailsResponse);
}

TEST(WireCallsTest, DateTimeOomVersion) {
  // SetGuestDateTimeRequest: 1 Sec, 2 Usec (int64).
  BothWays(SetGuestDateTimeRequest{1700000000, 5}, Varint(1, 1700000000) + Varint(2, 5),
           EncodeSetGuestDateTimeRequest, DecodeSetGuestDateTimeRequest);
  // OOMEvent: 1 container_id.
  BothWays(std::string("c1"), Field(1, "c1"), EncodeOomEvent, DecodeOomEvent);
  // VersionCheckResponse: 1 grpc_version, 2 agent_version.
  BothWays(VersionInfo{"0.0.1", "3.5.0"}, Field(1, "0.0.1") + Field(2, "3.5.0"),
           EncodeVersionCheckResponse, DecodeVersionCheckResponse);
}

TEST(WireCallsTest, MalformedRequestsAreInvalidArgument) {
  const std::string bad = Bytes({0x0a, 0x05, 'a'});  // field 1 claims 5 bytes, has 1
  EXPECT_EQ(DecodeExecProcessRequest(bad).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(DecodeSignalProcessRequest(bad).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(DecodeWriteStreamRequest(bad).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(DecodeTtyWinResizeRequest(bad).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(DecodeUpdateContainerRequest(bad).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(DecodeUpdateInterfaceRequest(bad).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(DecodeAddArpNeighborsRequest(bad).status().code(), Code::kInvalidArgument);
  EXPECT_NE(DecodeSetGuestDateTimeRequest(bad).status().message().find("SetGuestDateTimeRequest"),
            std::string::npos);
}

}  // namespace
}  // namespace vmshare::agent
