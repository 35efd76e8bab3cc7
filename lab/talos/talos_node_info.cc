// Kubeconfig, Version and ServiceList (facts/talos.md §2.2, §8.1).
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lab/talos/talos_simulator.h"

namespace coldstart::lab {

namespace {

// One regular file "kubeconfig" (0600) in an unterminated ustar stream,
// gzip'd (facts/talos.md §2.2).
std::string GzipTarKubeconfig(const std::string& content) {
  std::string header(512, '\0');
  std::memcpy(&header[0], "kubeconfig", 10);
  std::memcpy(&header[100], "0000600", 7);
  std::memcpy(&header[108], "0000000", 7);
  std::memcpy(&header[116], "0000000", 7);
  char size[12];
  snprintf(size, sizeof(size), "%011o", static_cast<unsigned>(content.size()));
  std::memcpy(&header[124], size, 11);
  char mtime[12];
  snprintf(mtime, sizeof(mtime), "%011lo",
           static_cast<unsigned long>(absl::ToUnixSeconds(absl::Now())));
  std::memcpy(&header[136], mtime, 11);
  header[156] = '0';
  std::memcpy(&header[257],
              "ustar\0"
              "00",
              8);
  std::memset(&header[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : header) sum += c;
  char checksum[8];
  snprintf(checksum, sizeof(checksum), "%06o", sum);
  std::memcpy(&header[148], checksum, 7);
  const std::string tar = header + content;

  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
               Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, tar.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(tar.data()));
  zs.avail_in = tar.size();
  zs.next_out = reinterpret_cast<Bytef*>(&out[0]);
  zs.avail_out = out.size();
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace

grpc::Status TalosSimulator::Kubeconfig(
    const std::string& name, grpc::ServerContext* ctx,
    grpc::ServerWriter<common::Data>* writer) {
  grpc::Status auth = Authorize(ctx, {});
  if (!auth.ok()) return auth;
  TalosMachineConfig config;
  {
    absl::MutexLock lock(&mu_);
    config = nodes_.at(name).config;
  }
  if (!config.control_plane) {
    return grpc::Status(grpc::UNIMPLEMENTED,
                        "kubeconfig is only available on control plane nodes");
  }
  absl::StatusOr<PemKeyPair> admin = IssueKubernetesAdminCertificate(
      config.kubernetes_ca_cert_pem, config.kubernetes_ca_key_pem);
  if (!admin.ok()) {
    return grpc::Status(grpc::FAILED_PRECONDITION,
                        std::string(admin.status().message()));
  }
  const std::string user = absl::StrCat("admin@", config.cluster_name);
  const std::string kubeconfig = absl::StrCat(
      "apiVersion: v1\nkind: Config\nclusters:\n    - name: ",
      config.cluster_name,
      "\n      cluster:\n        server: ", config.endpoint,
      "\n        certificate-authority-data: ",
      absl::Base64Escape(config.kubernetes_ca_cert_pem),
      "\nusers:\n    - name: ", user,
      "\n      user:\n        client-certificate-data: ",
      absl::Base64Escape(admin->cert_pem),
      "\n        client-key-data: ", absl::Base64Escape(admin->key_pem),
      "\ncontexts:\n    - context:\n        cluster: ", config.cluster_name,
      "\n        namespace: default\n        user: ", user,
      "\n      name: ", user, "\ncurrent-context: ", user, "\n");
  common::Data data;
  data.set_bytes(GzipTarKubeconfig(kubeconfig));
  writer->Write(data);
  return grpc::Status::OK;
}

grpc::Status TalosSimulator::Version(const std::string& name,
                                     grpc::ServerContext* ctx,
                                     machine::VersionResponse* response) {
  grpc::Status auth = Authorize(ctx, {"os:operator", "os:reader"});
  if (!auth.ok()) return auth;
  machine::Version* v = response->add_messages();
  const std::string tag = context_.spec->spec().versions().talos().empty()
                              ? "v1.9.1"
                              : context_.spec->spec().versions().talos();
  v->mutable_version()->set_tag(tag);
  v->mutable_version()->set_os("Talos");
  v->mutable_version()->set_arch("amd64");
  v->mutable_version()->set_go_version("go1.23.4");
  v->mutable_platform()->set_name("nocloud");
  v->mutable_platform()->set_mode("cloud");
  v->mutable_features()->set_rbac(true);
  return grpc::Status::OK;
}

grpc::Status TalosSimulator::ServiceList(
    const std::string& name, grpc::ServerContext* ctx,
    machine::ServiceListResponse* response) {
  grpc::Status auth = Authorize(ctx, {"os:operator", "os:reader"});
  if (!auth.ok()) return auth;
  bool control_plane, tailscale;
  {
    absl::MutexLock lock(&mu_);
    control_plane = nodes_.at(name).config.control_plane;
    tailscale = nodes_.at(name).tailscale_logged_in;
  }
  const bool etcd = EtcdUp();
  machine::ServiceList* list = response->add_messages();
  auto add = [list](const std::string& id, bool running) {
    machine::ServiceInfo* s = list->add_services();
    s->set_id(id);
    s->set_state(running ? "Running" : "Waiting");
    s->mutable_health()->set_healthy(running);
    s->mutable_health()->set_unknown(!running);
  };
  add("apid", true);
  add("containerd", true);
  add("cri", true);
  if (control_plane) add("etcd", etcd);
  add("ext-tailscale", tailscale);
  add("kubelet", etcd);
  add("machined", true);
  if (control_plane) add("trustd", true);
  add("udevd", true);
  return grpc::Status::OK;
}

}  // namespace coldstart::lab
