// The proto subset against the field table of facts/talos.md §2 (Talos
// v1.9.1 .. v1.14): every message, field number, type and label, every enum
// value, every method path and its streaming shape, read from the compiled
// descriptors. A renumbered or retyped field fails here.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "proto/talos/machine/machine.grpc.pb.h"
#include "proto/talos/machine/machine.pb.h"

namespace coldstart::talos {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;

// "1 string hostname", "3 repeated EtcdMember members", as the facts write
// them. The type is the proto type name or the full message/enum name.
struct FieldRow {
  const char* message;
  int number;
  const char* type;
  const char* name;
  bool repeated;
};

const FieldRow kFields[] = {
    {"common.Metadata", 1, "string", "hostname", false},
    {"common.Metadata", 2, "string", "error", false},
    {"common.Metadata", 3, "google.rpc.Status", "status", false},
    {"google.rpc.Status", 1, "int32", "code", false},
    {"google.rpc.Status", 2, "string", "message", false},
    {"google.rpc.Status", 3, "google.protobuf.Any", "details", true},
    {"common.Data", 1, "common.Metadata", "metadata", false},
    {"common.Data", 2, "bytes", "bytes", false},
    {"common.Empty", 1, "common.Metadata", "metadata", false},
    {"common.EmptyResponse", 1, "common.Empty", "messages", true},
    {"common.Error", 1, "common.Code", "code", false},
    {"common.Error", 2, "string", "message", false},
    {"common.Error", 3, "google.protobuf.Any", "details", true},
    {"machine.ApplyConfigurationRequest", 1, "bytes", "data", false},
    {"machine.ApplyConfigurationRequest", 4,
     "machine.ApplyConfigurationRequest.Mode", "mode", false},
    {"machine.ApplyConfigurationRequest", 5, "bool", "dry_run", false},
    {"machine.ApplyConfigurationRequest", 6, "google.protobuf.Duration",
     "try_mode_timeout", false},
    {"machine.ApplyConfiguration", 1, "common.Metadata", "metadata", false},
    {"machine.ApplyConfiguration", 2, "string", "warnings", true},
    {"machine.ApplyConfiguration", 3, "machine.ApplyConfigurationRequest.Mode",
     "mode", false},
    {"machine.ApplyConfiguration", 4, "string", "mode_details", false},
    {"machine.ApplyConfigurationResponse", 1, "machine.ApplyConfiguration",
     "messages", true},
    {"machine.BootstrapRequest", 1, "bool", "recover_etcd", false},
    {"machine.BootstrapRequest", 2, "bool", "recover_skip_hash_check", false},
    {"machine.Bootstrap", 1, "common.Metadata", "metadata", false},
    {"machine.BootstrapResponse", 1, "machine.Bootstrap", "messages", true},
    {"machine.Version", 1, "common.Metadata", "metadata", false},
    {"machine.Version", 2, "machine.VersionInfo", "version", false},
    {"machine.Version", 3, "machine.PlatformInfo", "platform", false},
    {"machine.Version", 4, "machine.FeaturesInfo", "features", false},
    {"machine.VersionResponse", 1, "machine.Version", "messages", true},
    {"machine.VersionInfo", 1, "string", "tag", false},
    {"machine.VersionInfo", 2, "string", "sha", false},
    {"machine.VersionInfo", 3, "string", "built", false},
    {"machine.VersionInfo", 4, "string", "go_version", false},
    {"machine.VersionInfo", 5, "string", "os", false},
    {"machine.VersionInfo", 6, "string", "arch", false},
    {"machine.PlatformInfo", 1, "string", "name", false},
    {"machine.PlatformInfo", 2, "string", "mode", false},
    {"machine.FeaturesInfo", 1, "bool", "rbac", false},
    {"machine.EtcdMemberListRequest", 1, "bool", "query_local", false},
    {"machine.EtcdMembers", 1, "common.Metadata", "metadata", false},
    {"machine.EtcdMembers", 2, "string", "legacy_members", true},
    {"machine.EtcdMembers", 3, "machine.EtcdMember", "members", true},
    {"machine.EtcdMemberListResponse", 1, "machine.EtcdMembers", "messages",
     true},
    {"machine.EtcdMember", 2, "uint64", "id", false},
    {"machine.EtcdMember", 3, "string", "hostname", false},
    {"machine.EtcdMember", 4, "string", "peer_urls", true},
    {"machine.EtcdMember", 5, "string", "client_urls", true},
    {"machine.EtcdMember", 6, "bool", "is_learner", false},
    {"machine.ServiceList", 1, "common.Metadata", "metadata", false},
    {"machine.ServiceList", 2, "machine.ServiceInfo", "services", true},
    {"machine.ServiceListResponse", 1, "machine.ServiceList", "messages", true},
    {"machine.ServiceInfo", 1, "string", "id", false},
    {"machine.ServiceInfo", 2, "string", "state", false},
    {"machine.ServiceInfo", 3, "machine.ServiceEvents", "events", false},
    {"machine.ServiceInfo", 4, "machine.ServiceHealth", "health", false},
    {"machine.ServiceEvents", 1, "machine.ServiceEvent", "events", true},
    {"machine.ServiceEvent", 1, "string", "msg", false},
    {"machine.ServiceEvent", 2, "string", "state", false},
    {"machine.ServiceEvent", 3, "google.protobuf.Timestamp", "ts", false},
    {"machine.ServiceHealth", 1, "bool", "unknown", false},
    {"machine.ServiceHealth", 2, "bool", "healthy", false},
    {"machine.ServiceHealth", 3, "string", "last_message", false},
    {"machine.ServiceHealth", 4, "google.protobuf.Timestamp", "last_change",
     false},
    {"machine.RebootRequest", 1, "machine.RebootRequest.Mode", "mode", false},
    {"machine.Reboot", 1, "common.Metadata", "metadata", false},
    {"machine.Reboot", 2, "string", "actor_id", false},
    {"machine.RebootResponse", 1, "machine.Reboot", "messages", true},
    {"machine.ResetRequest", 1, "bool", "graceful", false},
    {"machine.ResetRequest", 2, "bool", "reboot", false},
    {"machine.ResetRequest", 3, "machine.ResetPartitionSpec",
     "system_partitions_to_wipe", true},
    {"machine.ResetRequest", 4, "string", "user_disks_to_wipe", true},
    {"machine.ResetRequest", 5, "machine.ResetRequest.WipeMode", "mode", false},
    {"machine.ResetPartitionSpec", 1, "string", "label", false},
    {"machine.ResetPartitionSpec", 2, "bool", "wipe", false},
    {"machine.Reset", 1, "common.Metadata", "metadata", false},
    {"machine.Reset", 2, "string", "actor_id", false},
    {"machine.ResetResponse", 1, "machine.Reset", "messages", true},
};

struct EnumRow {
  const char* enum_name;
  const char* value;
  int number;
};

const EnumRow kEnumValues[] = {
    {"machine.ApplyConfigurationRequest.Mode", "REBOOT", 0},
    {"machine.ApplyConfigurationRequest.Mode", "AUTO", 1},
    {"machine.ApplyConfigurationRequest.Mode", "NO_REBOOT", 2},
    {"machine.ApplyConfigurationRequest.Mode", "STAGED", 3},
    {"machine.ApplyConfigurationRequest.Mode", "TRY", 4},
    {"machine.RebootRequest.Mode", "DEFAULT", 0},
    {"machine.RebootRequest.Mode", "POWERCYCLE", 1},
    {"machine.RebootRequest.Mode", "FORCE", 2},
    {"machine.ResetRequest.WipeMode", "ALL", 0},
    {"machine.ResetRequest.WipeMode", "SYSTEM_DISK", 1},
    {"machine.ResetRequest.WipeMode", "USER_DISKS", 2},
    {"common.Code", "FATAL", 0},
    {"common.Code", "LOCKED", 1},
    {"common.Code", "CANCELED", 2},
    {"common.ContainerDriver", "CONTAINERD", 0},
    {"common.ContainerDriver", "CRI", 1},
};

struct MethodRow {
  const char* path;
  const char* input;
  const char* output;
  bool server_streaming;
};

const MethodRow kMethods[] = {
    {"/machine.MachineService/ApplyConfiguration",
     "machine.ApplyConfigurationRequest", "machine.ApplyConfigurationResponse",
     false},
    {"/machine.MachineService/Bootstrap", "machine.BootstrapRequest",
     "machine.BootstrapResponse", false},
    {"/machine.MachineService/Kubeconfig", "google.protobuf.Empty",
     "common.Data", true},
    {"/machine.MachineService/Version", "google.protobuf.Empty",
     "machine.VersionResponse", false},
    {"/machine.MachineService/EtcdMemberList", "machine.EtcdMemberListRequest",
     "machine.EtcdMemberListResponse", false},
    {"/machine.MachineService/ServiceList", "google.protobuf.Empty",
     "machine.ServiceListResponse", false},
    {"/machine.MachineService/Reboot", "machine.RebootRequest",
     "machine.RebootResponse", false},
    {"/machine.MachineService/Reset", "machine.ResetRequest",
     "machine.ResetResponse", false},
};

std::string TypeOf(const FieldDescriptor& field) {
  if (field.message_type() != nullptr) return field.message_type()->full_name();
  if (field.enum_type() != nullptr) return field.enum_type()->full_name();
  return field.type_name();
}

const DescriptorPool& Pool() {
  // Linking machine.pb.cc registers the files in the generated pool.
  machine::ApplyConfigurationRequest force_link;
  (void)force_link;
  return *DescriptorPool::generated_pool();
}

TEST(TalosProto, EveryFieldMatchesTheFactsTable) {
  for (const FieldRow& row : kFields) {
    SCOPED_TRACE(absl::StrCat(row.message, " ", row.number, " ", row.name));
    const Descriptor* message = Pool().FindMessageTypeByName(row.message);
    ASSERT_NE(message, nullptr);
    const FieldDescriptor* field = message->FindFieldByNumber(row.number);
    ASSERT_NE(field, nullptr);
    EXPECT_EQ(field->name(), row.name);
    EXPECT_EQ(TypeOf(*field), row.type);
    EXPECT_EQ(field->is_repeated(), row.repeated);
  }
}

TEST(TalosProto, NoFieldOutsideTheTable) {
  std::vector<const Descriptor*> messages;
  for (const FieldRow& row : kFields) {
    const Descriptor* message = Pool().FindMessageTypeByName(row.message);
    ASSERT_NE(message, nullptr) << row.message;
    for (int i = 0; i < message->field_count(); ++i) {
      const FieldDescriptor* field = message->field(i);
      bool listed = false;
      for (const FieldRow& other : kFields) {
        listed |= message->full_name() == other.message &&
                  field->number() == other.number;
      }
      EXPECT_TRUE(listed) << message->full_name() << " field "
                          << field->number() << " " << field->name();
    }
  }
}

TEST(TalosProto, EnumValuesMatch) {
  for (const EnumRow& row : kEnumValues) {
    SCOPED_TRACE(absl::StrCat(row.enum_name, ".", row.value));
    const EnumDescriptor* type = Pool().FindEnumTypeByName(row.enum_name);
    ASSERT_NE(type, nullptr);
    const auto* value = type->FindValueByName(row.value);
    ASSERT_NE(value, nullptr);
    EXPECT_EQ(value->number(), row.number);
  }
}

TEST(TalosProto, MethodPathsAndShapes) {
  const auto* service = Pool().FindServiceByName("machine.MachineService");
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(service->method_count(), std::size(kMethods));
  for (const MethodRow& row : kMethods) {
    SCOPED_TRACE(row.path);
    std::string name(row.path);
    name = name.substr(name.rfind('/') + 1);
    const auto* method = service->FindMethodByName(name);
    ASSERT_NE(method, nullptr);
    EXPECT_EQ(absl::StrCat("/", service->full_name(), "/", method->name()),
              row.path);
    EXPECT_EQ(method->input_type()->full_name(), row.input);
    EXPECT_EQ(method->output_type()->full_name(), row.output);
    EXPECT_EQ(method->server_streaming(), row.server_streaming);
    EXPECT_FALSE(method->client_streaming());
  }
}

// The bytes of a request as a real talosctl sends them: field 1 (data, LEN),
// field 4 (mode, VARINT 1 = AUTO), field 5 (dry_run, VARINT 1).
TEST(TalosProto, ApplyConfigurationRequestBytes) {
  machine::ApplyConfigurationRequest request;
  request.set_data("ab");
  request.set_mode(machine::ApplyConfigurationRequest::AUTO);
  request.set_dry_run(true);
  EXPECT_EQ(request.SerializeAsString(), std::string("\x0a\x02"
                                                     "ab"
                                                     "\x20\x01"
                                                     "\x28\x01",
                                                     8));
}

}  // namespace
}  // namespace coldstart::talos
