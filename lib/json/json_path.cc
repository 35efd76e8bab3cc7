#include "lib/json/json_path.h"

#include <cstdint>
#include <string>

namespace coldstart {

const nlohmann::json* JsonAt(const nlohmann::json& json,
                             std::initializer_list<const char*> keys) {
  const nlohmann::json* current = &json;
  for (const char* key : keys) {
    if (!current->is_object()) return nullptr;
    auto it = current->find(key);
    if (it == current->end()) return nullptr;
    current = &*it;
  }
  return current;
}

std::string JsonString(const nlohmann::json& json,
                       std::initializer_list<const char*> keys,
                       const std::string& fallback) {
  const nlohmann::json* value = JsonAt(json, keys);
  return value != nullptr && value->is_string() ? value->get<std::string>()
                                                : fallback;
}

int64_t JsonInt(const nlohmann::json& json,
                std::initializer_list<const char*> keys, int64_t fallback) {
  const nlohmann::json* value = JsonAt(json, keys);
  if (value == nullptr || !value->is_number()) return fallback;
  return value->get<int64_t>();
}

}  // namespace coldstart
