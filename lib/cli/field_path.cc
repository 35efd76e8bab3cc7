#include "lib/cli/field_path.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace coldstart {

FieldPath FieldPath::Child(absl::string_view field, int index) const {
  FieldPath child = *this;
  child.elements_.push_back({std::string(field), index});
  return child;
}

std::string FieldPath::ToString() const {
  std::string out;
  for (const FieldPathElement& element : elements_) {
    if (!out.empty()) out += '.';
    out += element.field;
    if (element.index >= 0) absl::StrAppend(&out, "[", element.index, "]");
  }
  return out;
}

}  // namespace coldstart
