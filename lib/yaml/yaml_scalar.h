// Writing YAML scalars as go-yaml (v2/v3) does, so that YAML we generate
// reads back as the same string in Go programs (the Image Factory's
// schematic, machine configs).
#ifndef COLDSTART_LIB_YAML_YAML_SCALAR_H_
#define COLDSTART_LIB_YAML_YAML_SCALAR_H_

#include <string>

#include "absl/strings/string_view.h"

namespace coldstart {

// `text` as a plain scalar when it reads back as that string (letters,
// digits and `_./=+,@-`, not starting with a digit, sign or dot, and not a
// YAML 1.1 bool/null word such as yes/off/~); otherwise double-quoted with
// `"` and `\` escaped.
std::string GoYamlScalar(absl::string_view text);

}  // namespace coldstart

#endif  // COLDSTART_LIB_YAML_YAML_SCALAR_H_
