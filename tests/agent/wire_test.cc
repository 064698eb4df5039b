// Wire compatibility: our encodings checked byte for byte against vectors
// built by hand from Kata's field numbers (agent.proto, ttrpc), and decoding
// of bytes a Kata peer would send.
#include <gtest/gtest.h>

#include <string>

#include "agent/translate.h"
#include "agent/ttrpc.h"
#include "agent/wire_bytes.h"

namespace vmshare::agent {
namespace {

using testing::Bytes;

// tag, length, then the text: a length-delimited field.
std::string Field(int number, const std::string& value) {
  std::string s;
  s.push_back(static_cast<char>(number << 3 | 2));
  s.push_back(static_cast<char>(value.size()));
  return s + value;
}

TEST(WireTest, StorageMatchesKataFieldNumbers) {
  Storage s;
  s.driver = "virtio-fs";
  s.driver_options = {"a"};
  s.source = "kataShared";
  s.fstype = "virtiofs";
  s.options = {"dax"};
  s.mount_point = "/m";
  s.fs_group = FsGroup{5, FsGroup::ChangePolicy::kOnRootMismatch};
  s.shared = true;
  const std::string want = Field(1, "virtio-fs") + Field(2, "a") + Field(3, "kataShared") +
                           Field(4, "virtiofs") + Field(5, "dax") + Field(6, "/m") +
                           // FSGroup: no field 1; 2 group_id = 5; 3 policy = 1
                           Field(7, Bytes({0x10, 0x05, 0x18, 0x01})) + Bytes({0x40, 0x01});
  EXPECT_EQ(EncodeStorage(s), want);
  auto back = DecodeStorage(want);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, s);
}

TEST(WireTest, StorageWithoutFsGroupOmitsField7) {
  Storage s;
  s.driver = "local";
  s.mount_point = "/x";
  EXPECT_EQ(EncodeStorage(s), Field(1, "local") + Field(6, "/x"));
}

TEST(WireTest, CopyFileRequestMatchesKataFieldNumbers) {
  CopyFileRequest r;
  r.path = "/p";
  r.file_size = 3;
  r.file_mode = 0100644;
  r.dir_mode = 0750;
  r.uid = 1;
  r.gid = -1;
  r.offset = 1000;
  r.data = "abc";
  const std::string want =
      Field(1, "/p") + Bytes({0x10, 0x03}) +  // 2 file_size
      Bytes({0x18, 0xa4, 0x83, 0x02}) +       // 3 file_mode 0100644
      Bytes({0x20, 0xe8, 0x03}) +             // 4 dir_mode 0750
      Bytes({0x28, 0x01}) +                   // 5 uid
      Bytes({0x30, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}) +  // 6 gid -1
      Bytes({0x38, 0xe8, 0x07}) +                                                  // 7 offset 1000
      Field(8, "abc");                                                             // 8 data
  EXPECT_EQ(EncodeCopyFileRequest(r), want);
  auto back = DecodeCopyFileRequest(want);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, r);
}

TEST(WireTest, DecodeSkipsFieldsWeDoNotDeclare) {
  // A Kata runtime's CreateSandboxRequest with dns (2), sandbox_pidns (4) and
  // guest_hook_path (6) we ignore, and a field number from the future.
  const std::string bytes = Field(1, "host") + Field(2, "1.1.1.1") + Bytes({0x20, 0x01}) +
                            Field(5, "sb") + Field(6, "/hooks") + Bytes({0xf8, 0x06, 0x07});
  auto r = DecodeCreateSandboxRequest(bytes);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->hostname, "host");
  EXPECT_EQ(r->sandbox_id, "sb");
}

TEST(WireTest, CreateContainerSpecFieldNumbers) {
  CreateContainerRequest r;
  r.container_id = "c";
  r.spec.args = {"sh"};
  r.spec.cwd = "/";
  r.spec.root_path = "/r";
  r.spec.root_readonly = true;
  r.spec.mounts = {{"/s", "/d", "bind", {"ro"}}};
  r.spec.uid = 7;
  // 1 container_id; 6 OCI { 2 Process { 3 User {1 UID}, 4 Args, 6 Cwd },
  // 3 Root {1 Path, 2 Readonly}, 5 Mounts {1 destination, 2 source, 3 type, 4 options} }
  const std::string process = Field(3, Bytes({0x08, 0x07})) + Field(4, "sh") + Field(6, "/");
  const std::string root = Field(1, "/r") + Bytes({0x10, 0x01});
  const std::string mount = Field(1, "/d") + Field(2, "/s") + Field(3, "bind") + Field(4, "ro");
  const std::string want =
      Field(1, "c") + Field(6, Field(2, process) + Field(3, root) + Field(5, mount));
  EXPECT_EQ(EncodeCreateContainerRequest(r), want);
  auto back = DecodeCreateContainerRequest(want);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, r);
}

TEST(WireTest, SmallMessages) {
  EXPECT_EQ(EncodeStartContainerRequest("c1"), Field(1, "c1"));
  EXPECT_EQ(EncodeRemoveContainerRequest({"c1", 10}), Field(1, "c1") + Bytes({0x10, 0x0a}));
  EXPECT_EQ(EncodeWaitProcessRequest({"c1", "e"}), Field(1, "c1") + Field(2, "e"));
  EXPECT_EQ(EncodeWaitProcessResponse(3), Bytes({0x08, 0x03}));
  EXPECT_EQ(EncodeReadStreamRequest({{"c1", "e"}, 100}),
            Field(1, "c1") + Field(2, "e") + Bytes({0x18, 0x64}));
  EXPECT_EQ(EncodeReadStreamResponse("hi"), Field(1, "hi"));
  EXPECT_EQ(EncodeCheckRequest("x"), Field(1, "x"));
  EXPECT_EQ(EncodeHealthCheckResponse(ServingStatus::kServing), Bytes({0x08, 0x01}));
  auto wait = DecodeWaitProcessResponse(Bytes({0x08, 0x03}));
  ASSERT_TRUE(wait.ok());
  EXPECT_EQ(*wait, 3);
}

TEST(WireTest, TtrpcRequestEnvelope) {
  RpcRequest r{"grpc.AgentService", "CopyFile", "x", 1000, {{"k", "v"}}};
  const std::string want = Field(1, "grpc.AgentService") + Field(2, "CopyFile") + Field(3, "x") +
                           Bytes({0x20, 0xe8, 0x07}) + Field(5, Field(1, "k") + Field(2, "v"));
  EXPECT_EQ(EncodeRpcRequest(r), want);
  auto back = DecodeRpcRequest(want);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, r);
}

TEST(WireTest, TtrpcResponseEnvelope) {
  // Success as Kata's agent sends it: status present and empty (0A 00).
  EXPECT_EQ(EncodeRpcResponse({0, "", "p"}), Bytes({0x0a, 0x00}) + Field(2, "p"));
  EXPECT_EQ(EncodeRpcResponse({13, "boom", ""}), Field(1, Bytes({0x08, 0x0d}) + Field(2, "boom")));
  // A missing status is success too.
  auto ok = DecodeRpcResponse(Field(2, "p"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->code, 0);
  EXPECT_EQ(ok->payload, "p");
}

TEST(WireTest, FrameHeaderIsBigEndian) {
  FrameHeader h{5, 0x01020304, 0x02, 0x04};
  EXPECT_EQ(EncodeFrameHeader(h), Bytes({0, 0, 0, 5, 1, 2, 3, 4, 2, 4}));
  EXPECT_EQ(DecodeFrameHeader(Bytes({0, 0x40, 0, 0, 0, 0, 0, 1, 1, 0})),
            (FrameHeader{kMaxFrameData, 1, 1, 0}));
}

TEST(WireTest, MalformedProtobufIsInvalidArgument) {
  for (const std::string& bad :
       {Bytes({0x0a, 0x05, 'a'}), Bytes({0xff, 0xff, 0xff}), Bytes({0x0a})}) {
    auto r = DecodeCopyFileRequest(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find("CopyFileRequest"), std::string::npos);
  }
}

// The OCI fields beyond Kata's subset vmshare used before: Kata's field
// numbers (Process.Capabilities 7, Rlimits 8, NoNewPrivileges 9; Spec.Linux 8
// with Sysctl 3, Namespaces 6, Devices 7, MaskedPaths 10, ReadonlyPaths 11),
// and vmshare's own User.Umask 1001; they round-trip.
TEST(WireTest, OciProcessAndLinuxFieldsRoundTrip) {
  CreateContainerRequest r;
  r.container_id = "c";
  r.spec.args = {"sh"};
  r.spec.hostname = "h";
  r.spec.terminal = true;
  r.spec.capabilities = SpecCapabilities{{"CAP_KILL"}, {"CAP_KILL"}, {}, {"CAP_KILL"}, {}};
  r.spec.rlimits = {{"RLIMIT_NOFILE", 1024, 512}};
  r.spec.no_new_privileges = true;
  r.spec.umask = 022;
  r.spec.namespaces = {{"pid", ""}, {"network", "/run/netns/x"}};
  r.spec.devices = {{"/dev/fuse", "c", 10, 229, 0666, 1, 2}};
  r.spec.sysctl = {{"net.ipv4.ip_forward", "1"}};
  r.spec.masked_paths = {"/proc/kcore"};
  r.spec.readonly_paths = {"/proc/sys"};
  const std::string bytes = EncodeCreateContainerRequest(r);
  auto back = DecodeCreateContainerRequest(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, r);
  EXPECT_NE(bytes.find("\x48\x01"), std::string::npos);      // Process.NoNewPrivileges = 9
  EXPECT_NE(bytes.find("\xc8\x3e\x12"), std::string::npos);  // User.Umask = 1001, 022
  EXPECT_NE(bytes.find("\x0a\x08"
                       "CAP_KILL"),
            std::string::npos);                                     // Bounding = 1
  EXPECT_NE(bytes.find("\x52\x0b/proc/kcore"), std::string::npos);  // MaskedPaths = 10
  EXPECT_NE(bytes.find("\x5a\x09/proc/sys"), std::string::npos);    // ReadonlyPaths = 11
}

}  // namespace
}  // namespace vmshare::agent
