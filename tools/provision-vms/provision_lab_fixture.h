// Test fixture of provision-vms against the real labd
// (lab/testing/lab_fixture.h): the lab's Proxmox VE and Image Factory over
// HTTPS, a spec pointed at them, a file keystore holding the lab's admin token
// as item proxmox-admin-token of test-cluster, an admin API client to read
// the world back, the request logs, and the real binary run as a child.
#ifndef COLDSTART_TOOLS_PROVISION_VMS_PROVISION_LAB_FIXTURE_H_
#define COLDSTART_TOOLS_PROVISION_VMS_PROVISION_LAB_FIXTURE_H_

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lab/testing/lab_fixture.h"
#include "lib/net/http.h"
#include "lib/secrets/keystore.h"
#include "nlohmann/json.hpp"
#include "proto/coldstart/v1/cluster.pb.h"
#include "tools/provision-vms/pve_client.h"

namespace coldstart {

// The outcome of the provision-vms binary run as a child.
struct BinaryRun {
  // -1 when killed by a signal.
  int exit_code = -1;
  std::string out;
  std::string err;
};

class ProvisionLabTest : public ::testing::Test {
 protected:
  // Starts labd (time_scale, fault file text) and the keystore.
  void StartLab(double time_scale, const std::string& faults = "");
  void TearDown() override;

  // testdata/lab.txtpb pointed at this lab; `nodes` > 5 adds workers;
  // `edit` changes the Cluster before it is written. Returns the path.
  std::string WriteSpec(
      int nodes = 5, const std::function<void(v1::Cluster&)>& edit = nullptr);

  // The binary (with --keystore=file:<keystore_dir_>, $PROXMOX_VE_API_TOKEN
  // and $COLDSTART_KEYSTORE unset), stdout and stderr to files named `tag`.
  pid_t Spawn(const std::vector<std::string>& args, const std::string& tag);
  BinaryRun Wait(pid_t pid);
  BinaryRun Run(const std::vector<std::string>& args);

  std::vector<lab::RequestRecord> Requests(const std::string& module = "pve");
  // POST/PUT/DELETE (resp. GET) records from index `from` on.
  static int Writes(const std::vector<lab::RequestRecord>& records,
                    size_t from);
  static int Gets(const std::vector<lab::RequestRecord>& records, size_t from);

  // GET through the admin client (a failure fails the test).
  nlohmann::json Api(const std::string& path, const PveParams& params = {});
  // Every VM by VMID.
  std::map<int, nlohmann::json> Vms();
  // A VM made by hand (no coldstart marker).
  void CreateForeignVm(int vmid, const std::string& name, int cores = 1);
  // Every spec VM reads back as the spec says.
  void ExpectConfigsMatch(const std::string& spec_path);

  std::unique_ptr<lab::LabProcess> lab_;
  std::unique_ptr<Keystore> keystore_;
  std::unique_ptr<CurlHttpClient> http_;
  std::unique_ptr<PveClient> admin_;
  // The lab's admin token ("user@realm!tokenid=secret").
  std::string admin_token_;
  std::string ca_, endpoint_, factory_, keystore_dir_, out_path_, err_path_;
  int counter_ = 0;
};

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_PROVISION_VMS_PROVISION_LAB_FIXTURE_H_
