#include "train/lmdb_records.h"

#include <lmdb.h>

#include <filesystem>

#include "engine/error.h"

namespace gf {

struct LmdbRecords::Handles {
  MDB_env* env = nullptr;
  MDB_txn* txn = nullptr;
  MDB_cursor* cursor = nullptr;
  ~Handles() {
    if (cursor) mdb_cursor_close(cursor);
    if (txn) mdb_txn_abort(txn);
    if (env) mdb_env_close(env);
  }
};

namespace {

void check(int rc, const std::string& folder, const std::string& doing) {
  if (rc != MDB_SUCCESS) throw Error(folder + ": " + doing + ": " + mdb_strerror(rc));
}

}  // namespace

LmdbRecords::LmdbRecords(const std::string& folder) : h_(std::make_unique<Handles>()), folder_(folder) {
  check(mdb_env_create(&h_->env), folder, "cannot make an LMDB environment");
  // Named databases (if any) are entries of the main one, which is read.
  check(mdb_env_open(h_->env, folder.c_str(), MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS, 0), folder,
        "not an LMDB folder (data.mdb)");
  // liblmdb maps data.mdb and trusts it: a page past the end of a cut file
  // is a SIGBUS when read. Its last page, from the meta page, must be in the file.
  MDB_envinfo env_info;
  MDB_stat env_stat;
  check(mdb_env_info(h_->env, &env_info), folder, "cannot read its header");
  check(mdb_env_stat(h_->env, &env_stat), folder, "cannot read its header");
  std::error_code ec;
  const uint64_t have = std::filesystem::file_size(std::filesystem::path(folder) / "data.mdb", ec);
  const uint64_t need = (uint64_t(env_info.me_last_pgno) + 1) * env_stat.ms_psize;
  if (!ec && have < need)
    throw Error(folder + ": data.mdb is cut short (" + std::to_string(have) + " bytes, its pages need " +
                std::to_string(need) + "): a truncated download or copy?");
  check(mdb_txn_begin(h_->env, nullptr, MDB_RDONLY, &h_->txn), folder, "cannot read it");
  MDB_dbi dbi;
  check(mdb_dbi_open(h_->txn, nullptr, 0, &dbi), folder, "cannot open its database");
  MDB_stat stat;
  check(mdb_stat(h_->txn, dbi, &stat), folder, "cannot count its entries");
  entries_ = stat.ms_entries;
  check(mdb_cursor_open(h_->txn, dbi, &h_->cursor), folder, "cannot read its entries");
}

LmdbRecords::~LmdbRecords() = default;

bool LmdbRecords::next(std::string& key, std::vector<uint8_t>& value) {
  MDB_val k, v;
  const int rc = mdb_cursor_get(h_->cursor, &k, &v, started_ ? MDB_NEXT : MDB_FIRST);
  started_ = true;
  if (rc == MDB_NOTFOUND) return false;
  check(rc, folder_, "cannot read an entry (corrupt database?)");
  key.assign(static_cast<const char*>(k.mv_data), k.mv_size);
  const auto* p = static_cast<const uint8_t*>(v.mv_data);
  value.assign(p, p + v.mv_size);
  return true;
}

}  // namespace gf
