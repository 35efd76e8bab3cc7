// Reading foreign JSON (Kubernetes objects, API replies) by key path without
// exceptions: a missing key, a wrong type or a non-object on the way gives
// the fallback, never a throw.
//
//   JsonString(pod, {"metadata", "namespace"})   // "" when absent
#ifndef COLDSTART_LIB_JSON_JSON_PATH_H_
#define COLDSTART_LIB_JSON_JSON_PATH_H_

#include <cstdint>
#include <initializer_list>
#include <string>

#include "nlohmann/json.hpp"

namespace coldstart {

// The value at `keys` (object keys, outermost first), or nullptr.
const nlohmann::json* JsonAt(const nlohmann::json& json,
                             std::initializer_list<const char*> keys);

// The string at `keys`, or `fallback` when absent or not a string.
std::string JsonString(const nlohmann::json& json,
                       std::initializer_list<const char*> keys,
                       const std::string& fallback = "");

// The integer at `keys`, or `fallback` when absent or not a number.
int64_t JsonInt(const nlohmann::json& json,
                std::initializer_list<const char*> keys, int64_t fallback = 0);

}  // namespace coldstart

#endif  // COLDSTART_LIB_JSON_JSON_PATH_H_
