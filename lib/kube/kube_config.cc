#include "lib/kube/kube_config.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lib/base/status_macros.h"
#include "yaml-cpp/yaml.h"

namespace coldstart::kube {
namespace {

struct Entry {
  YAML::Node node;
  std::string dir;
  std::string source;
};

struct Merged {
  std::map<std::string, Entry> clusters, users, contexts;
  std::string current_context;
};

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string DirOf(absl::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == absl::string_view::npos) return ".";
  return std::string(path.substr(0, slash == 0 ? 1 : slash));
}

std::string Resolve(absl::string_view dir, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return absl::StrCat(dir, "/", path);
}

absl::Status MergeText(absl::string_view yaml, absl::string_view dir,
                       absl::string_view source, Merged& merged) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  if (root.IsNull()) return absl::OkStatus();
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": a kubeconfig must be a YAML mapping"));
  }
  try {
    for (const auto& [key, target] :
         {std::pair<const char*, std::map<std::string, Entry>*>{
              "clusters", &merged.clusters},
          {"users", &merged.users},
          {"contexts", &merged.contexts}}) {
      YAML::Node list = root[key];
      if (!list || list.IsNull()) continue;
      if (!list.IsSequence()) {
        return absl::InvalidArgumentError(
            absl::StrCat(source, ": ", key, " must be a list"));
      }
      for (const YAML::Node& item : list) {
        std::string name = item["name"] ? item["name"].as<std::string>() : "";
        if (name.empty()) {
          return absl::InvalidArgumentError(absl::StrCat(
              source, ":", item.Mark().line + 1, ":", item.Mark().column + 1,
              ": ", key, " entry without a name"));
        }
        target->emplace(name, Entry{item, std::string(dir),
                                    std::string(source)});  // first wins
      }
    }
    if (merged.current_context.empty() && root["current-context"] &&
        root["current-context"].IsScalar()) {
      merged.current_context = root["current-context"].as<std::string>();
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  return absl::OkStatus();
}

std::string Scalar(const YAML::Node& parent, const char* key) {
  YAML::Node v = parent[key];
  if (!v || !v.IsScalar()) return "";
  return v.as<std::string>();
}

absl::StatusOr<std::string> DataOrFile(const YAML::Node& section,
                                       const Entry& entry, const char* data_key,
                                       const char* file_key,
                                       absl::string_view what) {
  std::string data = Scalar(section, data_key);
  if (!data.empty()) {
    std::string decoded;
    if (!absl::Base64Unescape(data, &decoded)) {
      return absl::InvalidArgumentError(absl::StrCat(
          entry.source, ": ", what, ": ", data_key, " is not valid base64"));
    }
    return decoded;
  }
  std::string file = Scalar(section, file_key);
  if (file.empty()) return std::string();
  absl::StatusOr<std::string> content = ReadFile(Resolve(entry.dir, file));
  if (!content.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(entry.source, ": ", what, ": ", file_key, " ",
                     Resolve(entry.dir, file), " cannot be read"));
  }
  return content;
}

absl::StatusOr<RestConfig> ResolveContext(const Merged& merged,
                                          absl::string_view context_override,
                                          absl::string_view sources) {
  std::string context_name = context_override.empty()
                                 ? merged.current_context
                                 : std::string(context_override);
  if (context_name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        sources, ": no current-context is set and no context was given"));
  }
  auto ctx = merged.contexts.find(context_name);
  if (ctx == merged.contexts.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        sources, ": context \"", context_name, "\" does not exist"));
  }
  RestConfig config;
  config.context = context_name;
  try {
    YAML::Node c = ctx->second.node["context"];
    config.cluster_name = c ? Scalar(c, "cluster") : "";
    config.user_name = c ? Scalar(c, "user") : "";
    std::string ns = c ? Scalar(c, "namespace") : "";
    if (!ns.empty()) config.ns = ns;
    auto cl = merged.clusters.find(config.cluster_name);
    if (cl == merged.clusters.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          sources, ": context \"", context_name, "\" names cluster \"",
          config.cluster_name, "\", which does not exist"));
    }
    YAML::Node cluster = cl->second.node["cluster"];
    if (!cluster) {
      return absl::InvalidArgumentError(absl::StrCat(
          cl->second.source, ": cluster \"", cl->first, "\" has no cluster:"));
    }
    config.server =
        std::string(absl::StripSuffix(Scalar(cluster, "server"), "/"));
    if (config.server.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          cl->second.source, ": cluster \"", cl->first, "\" has no server"));
    }
    config.tls_server_name = Scalar(cluster, "tls-server-name");
    config.insecure_skip_tls_verify =
        Scalar(cluster, "insecure-skip-tls-verify") == "true";
    ASSIGN_OR_RETURN(
        config.ca_pem,
        DataOrFile(cluster, cl->second, "certificate-authority-data",
                   "certificate-authority",
                   absl::StrCat("cluster \"", cl->first, "\"")));
    if (config.insecure_skip_tls_verify && !config.ca_pem.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          cl->second.source, ": cluster \"", cl->first,
          "\": specifying a root certificates file with the insecure flag is "
          "not allowed"));
    }
    if (!config.user_name.empty()) {
      auto us = merged.users.find(config.user_name);
      if (us == merged.users.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            sources, ": context \"", context_name, "\" names user \"",
            config.user_name, "\", which does not exist"));
      }
      YAML::Node user = us->second.node["user"];
      if (user) {
        if (user["exec"] || user["auth-provider"]) {
          return absl::UnimplementedError(absl::StrCat(
              us->second.source, ": user \"", us->first,
              "\": exec and auth-provider credential plugins are not "
              "supported; use client certificates or a token"));
        }
        std::string what = absl::StrCat("user \"", us->first, "\"");
        ASSIGN_OR_RETURN(config.client_cert_pem,
                         DataOrFile(user, us->second, "client-certificate-data",
                                    "client-certificate", what));
        ASSIGN_OR_RETURN(std::string key,
                         DataOrFile(user, us->second, "client-key-data",
                                    "client-key", what));
        config.client_key_pem = Secret(std::move(key));
        std::string token = Scalar(user, "token");
        if (token.empty()) {
          std::string token_file = Scalar(user, "tokenFile");
          if (!token_file.empty()) {
            absl::StatusOr<std::string> t =
                ReadFile(Resolve(us->second.dir, token_file));
            if (!t.ok()) {
              return absl::InvalidArgumentError(absl::StrCat(
                  us->second.source, ": ", what, ": tokenFile cannot be read"));
            }
            token = std::string(absl::StripTrailingAsciiWhitespace(*t));
          }
        }
        config.token = Secret(std::move(token));
        if (config.client_cert_pem.empty() !=
            config.client_key_pem.Reveal().empty()) {
          return absl::InvalidArgumentError(
              absl::StrCat(us->second.source, ": ", what,
                           ": a client certificate needs its key and the "
                           "other way round"));
        }
      }
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        sources, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  return config;
}

}  // namespace

absl::StatusOr<RestConfig> ParseKubeconfig(absl::string_view yaml,
                                           absl::string_view dir,
                                           absl::string_view source,
                                           absl::string_view context) {
  Merged merged;
  RETURN_IF_ERROR(MergeText(yaml, dir, source, merged));
  return ResolveContext(merged, context, source);
}

absl::StatusOr<RestConfig> LoadKubeconfig(
    const KubeconfigLoadOptions& options) {
  std::vector<std::string> files;
  if (!options.explicit_path.empty()) {
    files.push_back(options.explicit_path);
  } else {
    std::string env;
    if (options.kubeconfig_env.has_value()) {
      env = *options.kubeconfig_env;
    } else if (const char* e = std::getenv("KUBECONFIG")) {
      env = e;
    }
    std::set<std::string> seen;
    for (absl::string_view p : absl::StrSplit(env, ':', absl::SkipEmpty())) {
      if (seen.insert(std::string(p)).second) files.emplace_back(p);
    }
    if (files.empty()) {
      std::string home = options.home;
      if (home.empty()) {
        if (const char* h = std::getenv("HOME")) home = h;
      }
      files.push_back(absl::StrCat(home, "/.kube/config"));
    }
  }
  Merged merged;
  std::vector<std::string> read;
  for (const std::string& f : files) {
    absl::StatusOr<std::string> text = ReadFile(f);
    if (!text.ok()) {
      if (!options.explicit_path.empty()) {
        return absl::NotFoundError(
            absl::StrCat("kubeconfig ", f, " does not exist"));
      }
      continue;  // kubectl skips missing KUBECONFIG entries
    }
    RETURN_IF_ERROR(MergeText(*text, DirOf(f), f, merged));
    read.push_back(f);
  }
  if (read.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "no kubeconfig found (looked at ", absl::StrJoin(files, ", "),
        "); pass --kubeconfig or set KUBECONFIG"));
  }
  return ResolveContext(merged, options.context, absl::StrJoin(read, ":"));
}

std::string RenderKubeconfig(absl::string_view name, absl::string_view server,
                             absl::string_view ca_pem,
                             absl::string_view client_cert_pem,
                             const Secret& client_key_pem,
                             absl::string_view ns) {
  std::string out = absl::StrCat(
      "apiVersion: v1\nkind: Config\nclusters:\n- name: ", name,
      "\n  cluster:\n    server: ", server,
      "\n    certificate-authority-data: ", absl::Base64Escape(ca_pem),
      "\nusers:\n- name: ", name, "-admin\n  user:\n");
  if (!client_cert_pem.empty()) {
    absl::StrAppend(
        &out,
        "    client-certificate-data: ", absl::Base64Escape(client_cert_pem),
        "\n    client-key-data: ", absl::Base64Escape(client_key_pem.Reveal()),
        "\n");
  }
  absl::StrAppend(&out, "contexts:\n- name: ", name, "\n  context:\n",
                  "    cluster: ", name, "\n    user: ", name, "-admin\n");
  if (!ns.empty()) absl::StrAppend(&out, "    namespace: ", ns, "\n");
  absl::StrAppend(&out, "current-context: ", name, "\n");
  return out;
}

}  // namespace coldstart::kube
