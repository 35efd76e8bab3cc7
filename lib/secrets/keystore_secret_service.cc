// The secret-service keystore backend (libsecret over D-Bus).

#include <libsecret/secret.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/base/status_macros.h"
#include "lib/secrets/keystore.h"
#include "lib/secrets/keystore_backends.h"

namespace coldstart {
namespace keystore_internal {
namespace {

// libsecret adds this attribute when storing through a schema; secret-tool
// and the playbook store without one. It is not part of an item's name.
constexpr char kSchemaAttribute[] = "xdg:schema";

struct GErrorFree {
  void operator()(GError* e) const { g_error_free(e); }
};
struct GHashTableUnref {
  void operator()(GHashTable* t) const { g_hash_table_unref(t); }
};
struct SecretValueUnref {
  void operator()(SecretValue* v) const { secret_value_unref(v); }
};
using GHashTablePtr = std::unique_ptr<GHashTable, GHashTableUnref>;

std::string Format(const KeystoreAttributes& attributes) {
  return absl::StrCat(
      "{", absl::StrJoin(attributes, ", ", absl::PairFormatter("=")), "}");
}

absl::Status FromGError(GError* raw, absl::string_view what) {
  std::unique_ptr<GError, GErrorFree> error(raw);
  absl::StatusCode code = absl::StatusCode::kInternal;
  if (error->domain == G_DBUS_ERROR || error->domain == G_IO_ERROR) {
    code = absl::StatusCode::kUnavailable;
  } else if (error->domain == SECRET_ERROR) {
    code = error->code == SECRET_ERROR_IS_LOCKED
               ? absl::StatusCode::kFailedPrecondition
               : absl::StatusCode::kInternal;
  }
  return absl::Status(
      code, absl::StrCat("secret-service: ", what, ": ", error->message));
}

GHashTablePtr ToHashTable(const KeystoreAttributes& attributes) {
  GHashTablePtr table(
      g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free));
  for (const auto& [key, value] : attributes) {
    g_hash_table_insert(table.get(), g_strdup(key.c_str()),
                        g_strdup(value.c_str()));
  }
  return table;
}

KeystoreAttributes FromHashTable(GHashTable* table) {
  KeystoreAttributes attributes;
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init(&iter, table);
  while (g_hash_table_iter_next(&iter, &key, &value)) {
    if (std::string(static_cast<const char*>(key)) == kSchemaAttribute) {
      continue;
    }
    attributes[static_cast<const char*>(key)] = static_cast<const char*>(value);
  }
  return attributes;
}

// Owns the GList of SecretItems a search returns.
class ItemList {
 public:
  explicit ItemList(GList* list) : list_(list) {}
  ~ItemList() { g_list_free_full(list_, g_object_unref); }
  ItemList(const ItemList&) = delete;
  ItemList& operator=(const ItemList&) = delete;
  std::vector<SecretItem*> items() const {
    std::vector<SecretItem*> out;
    for (GList* l = list_; l != nullptr; l = l->next) {
      out.push_back(static_cast<SecretItem*>(l->data));
    }
    return out;
  }

 private:
  GList* list_;
};

KeystoreAttributes AttributesOf(SecretItem* item) {
  GHashTablePtr table(secret_item_get_attributes(item));
  return FromHashTable(table.get());
}

class SecretServiceKeystore : public Keystore {
 public:
  explicit SecretServiceKeystore(SecretService* service) : service_(service) {}
  ~SecretServiceKeystore() override { g_object_unref(service_); }

  std::string Describe() const override { return "secret-service"; }

  // Secret Service's own "replace" (what secret-tool store does) replaces
  // any item whose attributes *include* the new ones; keystore items are
  // named by their exact attribute set, so the match is done here.
  absl::Status Store(const KeystoreAttributes& attributes,
                     absl::string_view label, const Secret& value) override {
    if (attributes.empty()) {
      return absl::InvalidArgumentError("keystore item needs attributes");
    }
    std::unique_ptr<SecretValue, SecretValueUnref> secret_value(
        secret_value_new(value.Reveal().data(), value.size(), "text/plain"));
    std::string label_str(label);
    ASSIGN_OR_RETURN(std::unique_ptr<ItemList> items,
                     SearchItems(attributes, /*load_secrets=*/false));
    bool updated = false;
    for (SecretItem* item : items->items()) {
      if (AttributesOf(item) != attributes) continue;
      GError* error = nullptr;
      if (updated) {  // a duplicate, e.g. made by secret-tool: keep one
        if (!secret_item_delete_sync(item, nullptr, &error)) {
          return FromGError(
              error, absl::StrCat("delete duplicate ", Format(attributes)));
        }
        continue;
      }
      if (!secret_item_set_secret_sync(item, secret_value.get(), nullptr,
                                       &error) ||
          (!label_str.empty() &&
           !secret_item_set_label_sync(item, label_str.c_str(), nullptr,
                                       &error))) {
        return FromGError(error, absl::StrCat("update ", Format(attributes)));
      }
      updated = true;
    }
    if (updated) return absl::OkStatus();

    GError* error = nullptr;
    SecretCollection* collection = secret_collection_for_alias_sync(
        service_, SECRET_COLLECTION_DEFAULT, SECRET_COLLECTION_NONE, nullptr,
        &error);
    if (collection == nullptr) {
      if (error != nullptr) {
        return FromGError(error, "open the default collection");
      }
      return absl::FailedPreconditionError(
          "secret-service: no default collection (create a keyring first)");
    }
    GHashTablePtr table = ToHashTable(attributes);
    SecretItem* item = secret_item_create_sync(
        collection, /*schema=*/nullptr, table.get(), label_str.c_str(),
        secret_value.get(), SECRET_ITEM_CREATE_NONE, nullptr, &error);
    g_object_unref(collection);
    if (item == nullptr) {
      return FromGError(error, absl::StrCat("store ", Format(attributes)));
    }
    g_object_unref(item);
    return absl::OkStatus();
  }

  absl::StatusOr<Secret> Lookup(const KeystoreAttributes& attributes) override {
    ASSIGN_OR_RETURN(std::unique_ptr<ItemList> items,
                     SearchItems(attributes, /*load_secrets=*/true));
    for (SecretItem* item : items->items()) {
      if (AttributesOf(item) != attributes) continue;
      std::unique_ptr<SecretValue, SecretValueUnref> value(
          secret_item_get_secret(item));
      if (value == nullptr) {
        return absl::FailedPreconditionError(
            absl::StrCat("secret-service: item ", Format(attributes),
                         " has no readable secret (locked collection?)"));
      }
      gsize length = 0;
      const gchar* data = secret_value_get(value.get(), &length);
      return Secret::FromView(absl::string_view(data, length));
    }
    return absl::NotFoundError(
        absl::StrCat("secret-service: no item ", Format(attributes)));
  }

  absl::Status Delete(const KeystoreAttributes& attributes) override {
    ASSIGN_OR_RETURN(std::unique_ptr<ItemList> items,
                     SearchItems(attributes, /*load_secrets=*/false));
    bool deleted = false;
    for (SecretItem* item : items->items()) {
      if (AttributesOf(item) != attributes) continue;
      GError* error = nullptr;
      if (!secret_item_delete_sync(item, nullptr, &error)) {
        return FromGError(error, absl::StrCat("delete ", Format(attributes)));
      }
      deleted = true;
    }
    if (!deleted) {
      return absl::NotFoundError(
          absl::StrCat("secret-service: no item ", Format(attributes)));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<KeystoreAttributes>> Search(
      const KeystoreAttributes& subset) override {
    ASSIGN_OR_RETURN(std::unique_ptr<ItemList> items,
                     SearchItems(subset, /*load_secrets=*/false));
    std::vector<KeystoreAttributes> found;
    for (SecretItem* item : items->items()) {
      found.push_back(AttributesOf(item));
    }
    return found;
  }

 private:
  absl::StatusOr<std::unique_ptr<ItemList>> SearchItems(
      const KeystoreAttributes& attributes, bool load_secrets) {
    GHashTablePtr table = ToHashTable(attributes);
    int flags = SECRET_SEARCH_ALL | SECRET_SEARCH_UNLOCK;
    if (load_secrets) flags |= SECRET_SEARCH_LOAD_SECRETS;
    GError* error = nullptr;
    GList* list = secret_service_search_sync(
        service_, /*schema=*/nullptr, table.get(),
        static_cast<SecretSearchFlags>(flags), nullptr, &error);
    if (error != nullptr) {
      g_list_free_full(list, g_object_unref);
      return FromGError(error, absl::StrCat("search ", Format(attributes)));
    }
    return std::make_unique<ItemList>(list);
  }

  SecretService* service_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Keystore>> OpenSecretServiceKeystore() {
  GError* error = nullptr;
  SecretService* service = secret_service_get_sync(
      // No LOAD_COLLECTIONS: cached item proxies would keep stale attributes
      // (their change signals need a main loop), so every search makes fresh
      // ones.
      SECRET_SERVICE_OPEN_SESSION, nullptr, &error);
  if (service == nullptr) {
    absl::Status status = FromGError(error, "connect");
    return absl::UnavailableError(absl::StrCat(
        status.message(),
        " (is a Secret Service such as gnome-keyring running on the D-Bus "
        "session bus? Or use --keystore=file:DIR)"));
  }
  return std::make_unique<SecretServiceKeystore>(service);
}

}  // namespace keystore_internal
}  // namespace coldstart
