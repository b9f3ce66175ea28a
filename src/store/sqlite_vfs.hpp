#pragma once

// The store's SQLite VFS: the platform's "unix" VFS with one change, write coalescing for the
// write-ahead log.
//
// SQLite appends each WAL frame with two write calls (24-byte header, then the page), so a
// transaction of n pages costs 2n pwrite system calls before its fsync. This VFS holds the
// frames that cannot commit anything (their header's commit field is 0) in a buffer, and writes
// them with the next write that can: the commit frame's header. A commit of n pages then costs
// 2 calls. The rules that keep this safe are in sqlite_vfs.cpp; in short, the buffer is written
// before any other operation on the file (read, sync, size, truncate, lock, close), before any
// write that does not continue it, and never holds a byte of a committed transaction after the
// write call that committed it returns, so other connections and a crash of the process see
// exactly what the plain VFS would have shown them.

#include <cstdint>

namespace korehook::store::sqlite {

// Registers the VFS (once per process; later calls return the same name) and returns its name,
// for sqlite3_open_v2. Throws std::runtime_error if SQLite has no "unix" VFS.
const char* coalescing_vfs_name();

// Counters over every file of this VFS since the process started (for tests and benchmarks).
struct VfsCounters {
  std::uint64_t wal_writes = 0;      // write calls SQLite made on WAL files
  std::uint64_t wal_os_writes = 0;   // write calls passed on to the unix VFS for them
  std::uint64_t wal_bytes_held = 0;  // bytes that went through the buffer
};
VfsCounters vfs_counters();

}  // namespace korehook::store::sqlite
