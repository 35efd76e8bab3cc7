#include "lib/cli/textproto.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/tokenizer.h"

namespace coldstart {
namespace {

class CollectingErrors : public google::protobuf::io::ErrorCollector {
 public:
  explicit CollectingErrors(absl::string_view filename) : filename_(filename) {}

  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    // Protobuf reports 0-based positions; -1 means "no position".
    if (line < 0) {
      lines_.push_back(absl::StrCat(filename_, ": ", message));
    } else {
      lines_.push_back(absl::StrCat(filename_, ":", line + 1, ":", column + 1,
                                    ": ", message));
    }
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber column,
                  const std::string& message) override {}

  std::string Joined() const { return absl::StrJoin(lines_, "\n"); }

 private:
  std::string filename_;
  std::vector<std::string> lines_;
};

}  // namespace

absl::Status ParseTextProto(
    absl::string_view text, absl::string_view filename,
    google::protobuf::Message* message,
    google::protobuf::TextFormat::ParseInfoTree* locations) {
  CollectingErrors errors(filename);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (locations != nullptr) parser.WriteLocationsTo(locations);
  if (!parser.ParseFromString(std::string(text), message)) {
    return absl::InvalidArgumentError(errors.Joined());
  }
  return absl::OkStatus();
}

}  // namespace coldstart
