// The lab Headscale's HTTP API as a route table (facts/headscale.md §1–§3,
// §7): one named handler per call, and the frame every route shares.
//
//   HeadscaleState state(26);
//   ServeHeadscaleApi(server, state, api_key);   // before server.Start()
#ifndef COLDSTART_LAB_HEADSCALE_HEADSCALE_API_H_
#define COLDSTART_LAB_HEADSCALE_HEADSCALE_API_H_

#include <string>
#include <vector>

#include "httplib.h"
#include "lab/headscale/headscale_state.h"
#include "lab/http/module_server.h"
#include "nlohmann/json.hpp"

namespace coldstart::lab {

// One call as a handler sees it.
struct HeadscaleCall {
  const httplib::Request& request;
  // The request body as a JSON object (routes with `json_body`), else null.
  nlohmann::json body;
};

// Called with state.mu held. Sets the status and body of `res`.
using HeadscaleHandler = void (*)(HeadscaleState& state,
                                  const HeadscaleCall& call,
                                  httplib::Response& res);

struct HeadscaleRoute {
  enum class Method { kGet, kPost, kDelete };
  Method method;
  // httplib regex over the whole path.
  const char* pattern;
  HeadscaleHandler handler;
  // API routes need "Authorization: Bearer <API key>"; lab-only ones do not.
  bool needs_api_key = true;
  // The body must be a JSON object (else 400, gRPC code 3).
  bool json_body = false;
  // API generations (HeadscaleState::generation) that have the route; in
  // others it answers 404 {"code":5,"message":"Not Found"} as the gateway.
  int min_generation = 23;
  int max_generation = 28;
};

// Every route of the simulator, in registration order.
const std::vector<HeadscaleRoute>& HeadscaleRoutes();

// Registers HeadscaleRoutes() on `server`, serving `state`, with `api_key`
// as the one valid Bearer key (401 text/plain "Unauthorized" otherwise).
// `state` must outlive the server.
void ServeHeadscaleApi(ModuleServer& server, HeadscaleState& state,
                       const std::string& api_key);

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_HEADSCALE_HEADSCALE_API_H_
