#include "lib/yaml/yaml_scalar.h"

#include <string>

#include "re2/re2.h"

namespace coldstart {

std::string GoYamlScalar(absl::string_view text) {
  static const RE2 kPlain(R"([A-Za-z_./][A-Za-z0-9_./=+,@-]*)");
  static const RE2 kSpecial(
      R"((?i)(true|false|yes|no|on|off|y|n|null|~)|[-+]?[0-9.].*)");
  const re2::StringPiece piece(text.data(), text.size());
  if (!text.empty() && RE2::FullMatch(piece, kPlain) &&
      !RE2::FullMatch(piece, kSpecial)) {
    return std::string(text);
  }
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace coldstart
