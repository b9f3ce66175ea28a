#include "store/sqlite_vfs.hpp"

#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>
#include <vector>

// How the WAL buffer stays safe. SQLite writes a transaction's frames in order, each as a
// 24-byte header then the page; the header's bytes 4..7 hold the database size in pages for
// the frame that commits the transaction, 0 for every other frame. The buffer only ever holds
// a run of contiguous non-commit frames, each header followed by its page:
//
//   - a non-commit header that continues the run (or starts one) is appended;
//   - the page that follows such a header, contiguous, is appended;
//   - any other write (the commit header, the commit page, the WAL header, a page rewritten in
//     place, the checksum rewrites of walRewriteChecksums, padding) first writes the run out,
//     together with this write when it continues the run, so it reaches the unix VFS before
//     the call returns;
//   - every other method (read, sync, truncate, size, locks, file controls, close) writes the
//     run out first.
//
// So when SQLite makes a transaction visible (the wal-index header, after its frames are
// written) or syncs it, every byte of it has gone through write(2); what the buffer can hold
// when a call returns is a part of a transaction that has not committed yet, which a crash
// would lose with the plain VFS too (its frames are beyond the last commit frame). A run of
// frames spilled from the page cache by a transaction that is then rolled back stays in the
// buffer until the next write, which overwrites it: non-contiguous, so the run goes out first.
// Buffered writes that fail are reported by the call that wrote them out.

namespace korehook::store::sqlite {
namespace {

constexpr int kFrameHeaderSize = 24;
// The unix VFS writes at most 128 KiB - 1 bytes per call (os_unix.c's seekAndWrite masks the
// count with 0x1ffff), so a buffer holds up to that: about 30 frames of 4 KiB pages.
constexpr std::size_t kBufferLimit = 0x1ffff;

std::atomic<std::uint64_t> g_wal_writes{0};
std::atomic<std::uint64_t> g_wal_os_writes{0};
std::atomic<std::uint64_t> g_wal_bytes_held{0};

sqlite3_vfs* g_base = nullptr;  // the unix VFS
sqlite3_vfs g_vfs;              // ours

struct WalBuffer {
  std::vector<char> bytes;
  sqlite3_int64 offset = 0;    // file offset of bytes[0]
  bool page_expected = false;  // the last write held was a non-commit frame header
};

struct File {
  sqlite3_file base;   // must be first: SQLite sees this
  sqlite3_file* real;  // the unix VFS's file, in the same allocation after this struct
  WalBuffer* wal;      // null unless this is a WAL file
};

sqlite3_file* real_of(sqlite3_file* f) { return reinterpret_cast<File*>(f)->real; }

std::uint32_t big_endian_u32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (std::uint32_t{u[0]} << 24) | (std::uint32_t{u[1]} << 16) | (std::uint32_t{u[2]} << 8) |
         std::uint32_t{u[3]};
}

int write_out(File* f) {
  WalBuffer& w = *f->wal;
  w.page_expected = false;
  if (w.bytes.empty()) return SQLITE_OK;
  g_wal_os_writes.fetch_add(1, std::memory_order_relaxed);
  int rc = f->real->pMethods->xWrite(f->real, w.bytes.data(), static_cast<int>(w.bytes.size()),
                                     w.offset);
  w.bytes.clear();
  return rc;
}

// Writes the buffer out before a method other than xWrite runs.
int settle(sqlite3_file* file) {
  auto* f = reinterpret_cast<File*>(file);
  return f->wal != nullptr ? write_out(f) : SQLITE_OK;
}

bool continues(const WalBuffer& w, sqlite3_int64 offset, int amount) {
  return !w.bytes.empty() && offset == w.offset + static_cast<sqlite3_int64>(w.bytes.size()) &&
         w.bytes.size() + static_cast<std::size_t>(amount) <= kBufferLimit;
}

void hold(WalBuffer& w, const void* data, int amount, sqlite3_int64 offset) {
  if (w.bytes.empty()) w.offset = offset;
  const auto* p = static_cast<const char*>(data);
  w.bytes.insert(w.bytes.end(), p, p + amount);
  g_wal_bytes_held.fetch_add(static_cast<std::uint64_t>(amount), std::memory_order_relaxed);
}

int wal_write(File* f, const void* data, int amount, sqlite3_int64 offset) {
  WalBuffer& w = *f->wal;
  g_wal_writes.fetch_add(1, std::memory_order_relaxed);
  const bool contiguous = continues(w, offset, amount);
  const bool non_commit_header =
      amount == kFrameHeaderSize && big_endian_u32(static_cast<const char*>(data) + 4) == 0;
  if (non_commit_header && (contiguous || w.bytes.empty()) &&
      static_cast<std::size_t>(amount) <= kBufferLimit) {
    hold(w, data, amount, offset);
    w.page_expected = true;
    return SQLITE_OK;
  }
  if (w.page_expected && contiguous && !non_commit_header) {
    hold(w, data, amount, offset);
    w.page_expected = false;
    return SQLITE_OK;
  }
  // Anything else goes to the unix VFS now, after the run it continues (in one call) or
  // after the run it does not.
  if (contiguous) {
    hold(w, data, amount, offset);
    return write_out(f);
  }
  if (int rc = write_out(f); rc != SQLITE_OK) return rc;
  g_wal_os_writes.fetch_add(1, std::memory_order_relaxed);
  return f->real->pMethods->xWrite(f->real, data, amount, offset);
}

// --- io methods: forward to the real file, settling the buffer first ------------------------

int x_close(sqlite3_file* file) {
  auto* f = reinterpret_cast<File*>(file);
  int rc = settle(file);
  int closed = f->real->pMethods->xClose(f->real);
  delete f->wal;
  f->wal = nullptr;
  return rc != SQLITE_OK ? rc : closed;
}

int x_read(sqlite3_file* file, void* data, int amount, sqlite3_int64 offset) {
  if (int rc = settle(file); rc != SQLITE_OK) return rc;
  sqlite3_file* r = real_of(file);
  return r->pMethods->xRead(r, data, amount, offset);
}

int x_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  auto* f = reinterpret_cast<File*>(file);
  if (f->wal != nullptr) return wal_write(f, data, amount, offset);
  return f->real->pMethods->xWrite(f->real, data, amount, offset);
}

int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
  if (int rc = settle(file); rc != SQLITE_OK) return rc;
  sqlite3_file* r = real_of(file);
  return r->pMethods->xTruncate(r, size);
}

int x_sync(sqlite3_file* file, int flags) {
  if (int rc = settle(file); rc != SQLITE_OK) return rc;
  sqlite3_file* r = real_of(file);
  return r->pMethods->xSync(r, flags);
}

int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
  if (int rc = settle(file); rc != SQLITE_OK) return rc;
  sqlite3_file* r = real_of(file);
  return r->pMethods->xFileSize(r, size);
}

int x_lock(sqlite3_file* file, int level) {
  if (int rc = settle(file); rc != SQLITE_OK) return rc;
  sqlite3_file* r = real_of(file);
  return r->pMethods->xLock(r, level);
}

int x_unlock(sqlite3_file* file, int level) {
  if (int rc = settle(file); rc != SQLITE_OK) return rc;
  sqlite3_file* r = real_of(file);
  return r->pMethods->xUnlock(r, level);
}

int x_check_reserved_lock(sqlite3_file* file, int* out) {
  if (int rc = settle(file); rc != SQLITE_OK) return rc;
  sqlite3_file* r = real_of(file);
  return r->pMethods->xCheckReservedLock(r, out);
}

int x_file_control(sqlite3_file* file, int op, void* arg) {
  if (int rc = settle(file); rc != SQLITE_OK) return rc;
  sqlite3_file* r = real_of(file);
  return r->pMethods->xFileControl(r, op, arg);
}

int x_sector_size(sqlite3_file* file) {
  sqlite3_file* r = real_of(file);
  return r->pMethods->xSectorSize(r);
}

int x_device_characteristics(sqlite3_file* file) {
  sqlite3_file* r = real_of(file);
  return r->pMethods->xDeviceCharacteristics(r);
}

// Shared memory and memory mapping belong to the database file, which is never buffered.
int x_shm_map(sqlite3_file* file, int page, int size, int extend, void volatile** out) {
  sqlite3_file* r = real_of(file);
  return r->pMethods->xShmMap(r, page, size, extend, out);
}

int x_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  sqlite3_file* r = real_of(file);
  return r->pMethods->xShmLock(r, offset, n, flags);
}

void x_shm_barrier(sqlite3_file* file) {
  sqlite3_file* r = real_of(file);
  r->pMethods->xShmBarrier(r);
}

int x_shm_unmap(sqlite3_file* file, int delete_flag) {
  sqlite3_file* r = real_of(file);
  return r->pMethods->xShmUnmap(r, delete_flag);
}

int x_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  sqlite3_file* r = real_of(file);
  return r->pMethods->xFetch(r, offset, amount, out);
}

int x_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* p) {
  sqlite3_file* r = real_of(file);
  return r->pMethods->xUnfetch(r, offset, p);
}

// The unix VFS's io methods are version 3; ours forward those of version 1..3. A real file
// with an older version (none on Linux) is passed through unwrapped in x_open.
const sqlite3_io_methods kMethods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved_lock,
    x_file_control,
    x_sector_size,
    x_device_characteristics,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    x_fetch,
    x_unfetch,
};

int x_open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  auto* f = reinterpret_cast<File*>(file);
  f->real = reinterpret_cast<sqlite3_file*>(f + 1);
  f->wal = nullptr;
  int rc = g_base->xOpen(g_base, name, f->real, flags, out_flags);
  if (f->real->pMethods == nullptr) {
    file->pMethods = nullptr;
    return rc;
  }
  if (f->real->pMethods->iVersion < 3) {
    // Not expected from the unix VFS; refuse rather than forward methods it lacks.
    f->real->pMethods->xClose(f->real);
    file->pMethods = nullptr;
    return SQLITE_CANTOPEN;
  }
  if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) != 0) {
    f->wal = new (std::nothrow) WalBuffer;
    if (f->wal == nullptr) {
      f->real->pMethods->xClose(f->real);
      file->pMethods = nullptr;
      return SQLITE_NOMEM;
    }
  }
  file->pMethods = &kMethods;
  return rc;
}

// --- the rest of the VFS forwards to the unix VFS --------------------------------------------

int x_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_base->xDelete(g_base, name, sync_dir);
}
int x_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_base->xAccess(g_base, name, flags, out);
}
int x_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_base->xFullPathname(g_base, name, n, out);
}
void* x_dl_open(sqlite3_vfs*, const char* name) { return g_base->xDlOpen(g_base, name); }
void x_dl_error(sqlite3_vfs*, int n, char* out) { g_base->xDlError(g_base, n, out); }
void (*x_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return g_base->xDlSym(g_base, handle, symbol);
}
void x_dl_close(sqlite3_vfs*, void* handle) { g_base->xDlClose(g_base, handle); }
int x_randomness(sqlite3_vfs*, int n, char* out) { return g_base->xRandomness(g_base, n, out); }
int x_sleep(sqlite3_vfs*, int micros) { return g_base->xSleep(g_base, micros); }
int x_current_time(sqlite3_vfs*, double* out) { return g_base->xCurrentTime(g_base, out); }
int x_get_last_error(sqlite3_vfs*, int n, char* out) {
  return g_base->xGetLastError(g_base, n, out);
}
int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_base->xCurrentTimeInt64(g_base, out);
}
int x_set_system_call(sqlite3_vfs*, const char* name, sqlite3_syscall_ptr call) {
  return g_base->xSetSystemCall(g_base, name, call);
}
sqlite3_syscall_ptr x_get_system_call(sqlite3_vfs*, const char* name) {
  return g_base->xGetSystemCall(g_base, name);
}
const char* x_next_system_call(sqlite3_vfs*, const char* name) {
  return g_base->xNextSystemCall(g_base, name);
}

void register_vfs() {
  g_base = sqlite3_vfs_find("unix");
  if (g_base == nullptr || g_base->iVersion < 3) {
    throw std::runtime_error("SQLite has no \"unix\" VFS of version 3");
  }
  std::memset(&g_vfs, 0, sizeof g_vfs);
  g_vfs.iVersion = 3;
  g_vfs.szOsFile = static_cast<int>(sizeof(File)) + g_base->szOsFile;
  g_vfs.mxPathname = g_base->mxPathname;
  g_vfs.zName = "korehook-unix";
  g_vfs.xOpen = x_open;
  g_vfs.xDelete = x_delete;
  g_vfs.xAccess = x_access;
  g_vfs.xFullPathname = x_full_pathname;
  g_vfs.xDlOpen = x_dl_open;
  g_vfs.xDlError = x_dl_error;
  g_vfs.xDlSym = x_dl_sym;
  g_vfs.xDlClose = x_dl_close;
  g_vfs.xRandomness = x_randomness;
  g_vfs.xSleep = x_sleep;
  g_vfs.xCurrentTime = x_current_time;
  g_vfs.xGetLastError = x_get_last_error;
  g_vfs.xCurrentTimeInt64 = x_current_time_int64;
  g_vfs.xSetSystemCall = x_set_system_call;
  g_vfs.xGetSystemCall = x_get_system_call;
  g_vfs.xNextSystemCall = x_next_system_call;
  if (int rc = sqlite3_vfs_register(&g_vfs, 0); rc != SQLITE_OK) {
    throw std::runtime_error(std::string("registering the SQLite VFS failed: ") +
                             sqlite3_errstr(rc));
  }
}

}  // namespace

const char* coalescing_vfs_name() {
  static std::once_flag once;
  std::call_once(once, register_vfs);
  return g_vfs.zName;
}

VfsCounters vfs_counters() {
  return {g_wal_writes.load(std::memory_order_relaxed),
          g_wal_os_writes.load(std::memory_order_relaxed),
          g_wal_bytes_held.load(std::memory_order_relaxed)};
}

}  // namespace korehook::store::sqlite
