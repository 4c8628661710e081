// b2m/core/atomic_write.hpp - write a whole file so that readers see the old file or the
// complete new one, never a torn one.
//
//   b2m::atomic_write("run.csv", text, "CSV log");
//   b2m::atomic_write_with("fig.svg", "SVG plot", [&](std::ostream& os) { os << svg; });
//
// What it does: writes `<path>.tmp.<pid>` in the same directory, flushes it to the device
// (fsync), renames it over `path` (atomic on POSIX file systems) and fsyncs the directory
// so the rename itself survives a crash.
// requires: the directory of `path` exists and is writable.
// ensures:  on success `path` holds exactly the bytes given. On any failure it throws
//           io_error "<what> '<path>': <reason>; the previous <what> is unchanged", removes
//           the temporary file and leaves `path` as it was.
#pragma once

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <unistd.h>

#include "b2m/core/error.hpp"

namespace b2m {

namespace detail {
/// Test hook: when non-zero, atomic_write writes only this many bytes and then fails, as a
/// full disk or a killed process would (the previous file must survive).
inline std::size_t atomic_write_fail_after_bytes = 0;
} // namespace detail

/// Writes `bytes` to `path` atomically (temporary file in the same directory, fsync, rename,
/// directory fsync). `what` names the kind of file in error messages (e.g. "checkpoint").
inline void atomic_write(const std::string& path, std::string_view bytes, std::string_view what = "file") {
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());  // one per writing process
    auto fail = [&](const std::string& reason) {
        ::unlink(tmp.c_str());
        throw io_error(std::string(what) + " '" + path + "': " + reason + "; the previous " + std::string(what) +
                       " is unchanged");
    };
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw io_error(std::string(what) + " '" + path + "': cannot open '" + tmp + "' for writing (" +
                               std::strerror(errno) + ")");
    const std::size_t limit = detail::atomic_write_fail_after_bytes;
    const std::size_t n = limit && limit < bytes.size() ? limit : bytes.size();
    std::size_t done = 0;
    while (done < n) {
        const ::ssize_t w = ::write(fd, bytes.data() + done, n - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            const std::string reason = std::string("writing failed (") + std::strerror(errno) + ")";
            ::close(fd);
            fail(reason);
        }
        done += std::size_t(w);
    }
    if (n < bytes.size()) {
        ::close(fd);
        fail("writing failed midway (simulated fault)");
    }
    if (::fsync(fd) != 0) {
        const std::string reason = std::string("fsync failed (") + std::strerror(errno) + ")";
        ::close(fd);
        fail(reason);
    }
    if (::close(fd) != 0) fail(std::string("closing failed (") + std::strerror(errno) + ")");
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
        fail(std::string("cannot rename the temporary file into place (") + std::strerror(errno) + ")");
    // Make the rename durable; a directory that cannot be opened (unusual) is not an error.
    std::filesystem::path dir = std::filesystem::path(path).parent_path();
    if (dir.empty()) dir = ".";
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

/// Writes what `write(std::ostream&)` produces to `path` atomically (see atomic_write).
template <class Writer>
void atomic_write_with(const std::string& path, std::string_view what, Writer&& write) {
    std::ostringstream os;
    write(static_cast<std::ostream&>(os));
    if (!os) throw io_error(std::string(what) + " '" + path + "': formatting the contents failed");
    atomic_write(path, os.view(), what);
}

} // namespace b2m
