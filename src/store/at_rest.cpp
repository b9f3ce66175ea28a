#include "store/at_rest.hpp"

#include <stdexcept>
#include <utility>
#include <vector>

namespace korehook::store {

using sqlite::Statement;
using sqlite::Transaction;

namespace {

constexpr std::string_view kKeyCheckText = "korehook secrets key check";
constexpr std::string_view kKeyCheckContext = "key-check";

}  // namespace

Error key_required(std::string_view what) {
  return Error{"store_error",
               std::string(what) +
                   " need the secrets key (encryption at rest): set secrets.key_file in the "
                   "configuration or provide the systemd credential korehook.key"};
}

int prepare_secrets_at_rest(sqlite::Database& db, const crypto::Sealer& sealer) {
  // Zero what the sealed values replace, so no plain text stays behind in free space.
  db.exec("PRAGMA secure_delete = ON");
  struct SecureDeleteOff {
    sqlite::Database& db;
    ~SecureDeleteOff() {
      try {
        db.exec("PRAGMA secure_delete = OFF");
      } catch (const std::exception&) {  // only costs speed
      }
    }
  } off{db};
  Transaction tx(db, Transaction::Mode::kImmediate);
  {
    Statement get(db, "SELECT value FROM meta WHERE key = 'key_check'");
    auto row = get.use();
    if (row.next()) {
      auto opened = sealer.open(row.get_text(0), kKeyCheckContext);
      if (!opened.ok() || *opened != kKeyCheckText) {
        throw std::runtime_error(
            "secrets key does not match the key this database was created with; start with "
            "the original key file (secrets.key_file) or credential, the secrets and endpoint "
            "headers stored here cannot be read with another key");
      }
    } else {
      Statement put(db, "INSERT INTO meta(key, value) VALUES ('key_check', ?)");
      put.use().bind(sealer.seal(kKeyCheckText, kKeyCheckContext)).exec();
    }
  }
  std::vector<std::pair<std::string, std::string>> plain;
  {
    Statement select(db, "SELECT id, value FROM secrets");
    auto row = select.use();
    while (row.next()) {
      std::string value = row.get_text(1);
      if (!crypto::Sealer::looks_sealed(value)) plain.emplace_back(row.get_text(0), value);
    }
  }
  Statement update(db, "UPDATE secrets SET value = ? WHERE id = ?");
  for (const auto& [id, value] : plain) {
    update.use().bind(sealer.seal(value, secret_context(id))).bind(id).exec();
  }
  tx.commit();
  // The old pages may still be in the WAL of a v1 run: write the new ones back and empty it.
  if (!plain.empty()) db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  return static_cast<int>(plain.size());
}

int count_plaintext_secrets(sqlite::Database& db) {
  Statement count(db, "SELECT COUNT(*) FROM secrets WHERE value NOT LIKE 'kh1:%'");
  auto row = count.use();
  return row.next() ? static_cast<int>(row.get_int(0)) : 0;
}

}  // namespace korehook::store
