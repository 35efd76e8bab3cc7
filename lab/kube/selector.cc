#include "lab/kube/selector.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace coldstart::lab {

absl::StatusOr<std::vector<Requirement>> ParseSelector(absl::string_view s) {
  std::vector<Requirement> out;
  // Split on commas outside parentheses.
  std::vector<std::string> parts;
  std::string cur;
  int depth = 0;
  for (char c : s) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) parts.push_back(cur);
  for (std::string& raw : parts) {
    absl::string_view p = absl::StripAsciiWhitespace(raw);
    if (p.empty()) continue;
    Requirement r;
    size_t pos;
    if (absl::ConsumePrefix(&p, "!")) {
      r.key = std::string(absl::StripAsciiWhitespace(p));
      r.op = Requirement::kNotExists;
    } else if ((pos = p.find("!=")) != absl::string_view::npos) {
      r.key = std::string(absl::StripAsciiWhitespace(p.substr(0, pos)));
      r.op = Requirement::kNe;
      r.values.insert(
          std::string(absl::StripAsciiWhitespace(p.substr(pos + 2))));
    } else if ((pos = p.find('=')) != absl::string_view::npos) {
      r.key = std::string(absl::StripAsciiWhitespace(p.substr(0, pos)));
      r.op = Requirement::kEq;
      absl::string_view v = p.substr(pos + 1);
      absl::ConsumePrefix(&v, "=");
      r.values.insert(std::string(absl::StripAsciiWhitespace(v)));
    } else if ((pos = p.find(" notin ")) != absl::string_view::npos ||
               (pos = p.find(" in ")) != absl::string_view::npos) {
      bool notin = p.substr(pos, 7) == " notin ";
      r.key = std::string(absl::StripAsciiWhitespace(p.substr(0, pos)));
      r.op = notin ? Requirement::kNotIn : Requirement::kIn;
      absl::string_view set =
          absl::StripAsciiWhitespace(p.substr(pos + (notin ? 7 : 4)));
      if (!absl::ConsumePrefix(&set, "(") || !absl::ConsumeSuffix(&set, ")")) {
        return absl::InvalidArgumentError(
            absl::StrCat("unable to parse requirement: ", p));
      }
      for (absl::string_view v : absl::StrSplit(set, ',')) {
        r.values.insert(std::string(absl::StripAsciiWhitespace(v)));
      }
    } else {
      r.key = std::string(p);
      r.op = Requirement::kExists;
    }
    out.push_back(std::move(r));
  }
  return out;
}

bool Matches(
    const std::vector<Requirement>& reqs,
    const std::function<std::optional<std::string>(const std::string&)>&
        lookup) {
  for (const Requirement& r : reqs) {
    std::optional<std::string> v = lookup(r.key);
    switch (r.op) {
      case Requirement::kEq:
      case Requirement::kIn:
        if (!v.has_value() || r.values.count(*v) == 0) return false;
        break;
      case Requirement::kNe:
      case Requirement::kNotIn:
        if (v.has_value() && r.values.count(*v) > 0) return false;
        break;
      case Requirement::kExists:
        if (!v.has_value()) return false;
        break;
      case Requirement::kNotExists:
        if (v.has_value()) return false;
        break;
    }
  }
  return true;
}

}  // namespace coldstart::lab
