#include "lib/secrets/secret.h"

#include <string.h>

#include <cstring>
#include <utility>

namespace coldstart {

void WipeBytes(void* bytes, size_t size) {
  if (bytes != nullptr && size > 0) explicit_bzero(bytes, size);
}

Secret::Secret(std::string&& value) {
  *this = FromView(value);
  WipeBytes(value.data(), value.size());
  value.clear();
}

Secret Secret::FromView(absl::string_view value) {
  Secret secret;
  if (!value.empty()) {
    secret.data_ = std::make_unique<char[]>(value.size());
    std::memcpy(secret.data_.get(), value.data(), value.size());
    secret.size_ = value.size();
  }
  return secret;
}

Secret::Secret(const Secret& other) { *this = other; }

Secret& Secret::operator=(const Secret& other) {
  if (this != &other) *this = FromView(other.Reveal());
  return *this;
}

Secret::Secret(Secret&& other) noexcept
    : data_(std::move(other.data_)), size_(std::exchange(other.size_, 0)) {}

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    Wipe();
    data_ = std::move(other.data_);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

Secret::~Secret() { Wipe(); }

void Secret::Wipe() {
  WipeBytes(data_.get(), size_);
  data_.reset();
  size_ = 0;
}

bool operator==(const Secret& a, const Secret& b) {
  if (a.size_ != b.size_) return false;
  volatile unsigned char diff = 0;
  for (size_t i = 0; i < a.size_; ++i) {
    diff |= static_cast<unsigned char>(a.data_[i] ^ b.data_[i]);
  }
  return diff == 0;
}

}  // namespace coldstart
