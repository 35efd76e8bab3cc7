#ifndef COLDSTART_LIB_SECRETS_SECRET_H_
#define COLDSTART_LIB_SECRETS_SECRET_H_

#include <cstddef>
#include <memory>
#include <ostream>
#include <string>

#include "absl/strings/string_view.h"

namespace coldstart {

// A secret byte string (token, password, private key PEM, ...).
//
// Contract:
// - It never prints: `operator<<` writes "[redacted]", and there is no
//   implicit conversion to a string, so absl::StrCat/StrFormat refuse it at
//   compile time. The bytes are reachable only through `Reveal()`, whose
//   result must go straight to the consumer (an HTTP header, a D-Bus call, a
//   0600 file), never into argv, logs or error messages.
// - The buffer is zeroed on destruction and when a new value is assigned;
//   moving leaves the source empty without copying the bytes.
// - Equality is constant-time in the length of the compared values.
class Secret {
 public:
  Secret() = default;
  // Takes the bytes of `value`; the caller's string is wiped.
  explicit Secret(std::string&& value);
  // Copies `value`; the caller remains responsible for its own copy.
  static Secret FromView(absl::string_view value);

  Secret(const Secret& other);
  Secret& operator=(const Secret& other);
  Secret(Secret&& other) noexcept;
  Secret& operator=(Secret&& other) noexcept;
  ~Secret();

  // The secret bytes. Valid until this object is modified or destroyed.
  absl::string_view Reveal() const {
    return absl::string_view(data_.get(), size_);
  }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  friend bool operator==(const Secret& a, const Secret& b);
  friend bool operator!=(const Secret& a, const Secret& b) { return !(a == b); }
  friend std::ostream& operator<<(std::ostream& os, const Secret&) {
    return os << "[redacted]";
  }

 private:
  void Wipe();

  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
};

// Overwrites `bytes` with zeros in a way the optimizer cannot elide.
void WipeBytes(void* bytes, size_t size);

}  // namespace coldstart

#endif  // COLDSTART_LIB_SECRETS_SECRET_H_
