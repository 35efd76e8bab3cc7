// A path to a field inside a message, in proto field names:
// "spec.nodes[2].vmid". Used to name where a problem is, and to find that
// place in the text it was parsed from.
#ifndef COLDSTART_LIB_CLI_FIELD_PATH_H_
#define COLDSTART_LIB_CLI_FIELD_PATH_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace coldstart {

struct FieldPathElement {
  std::string field;  // proto field name
  int index = -1;     // element of a repeated field, -1 for singular fields
};

class FieldPath {
 public:
  FieldPath() = default;
  explicit FieldPath(std::vector<FieldPathElement> elements)
      : elements_(std::move(elements)) {}

  // This path extended by `field` (and `index` for a repeated field).
  FieldPath Child(absl::string_view field, int index = -1) const;

  const std::vector<FieldPathElement>& elements() const { return elements_; }
  bool empty() const { return elements_.empty(); }

  // "spec.nodes[2].vmid"; "" for the empty path.
  std::string ToString() const;

 private:
  std::vector<FieldPathElement> elements_;
};

}  // namespace coldstart

#endif  // COLDSTART_LIB_CLI_FIELD_PATH_H_
