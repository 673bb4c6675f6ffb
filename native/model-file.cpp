#include "model-file.h"

#include "ggml.h"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <sys/types.h>

#ifdef _WIN32
#include <io.h>
#else
#include <fcntl.h>
#include <unistd.h>
#endif

namespace ps {

#ifndef _WIN32
namespace {
std::string kind_of(unsigned mode) {
    if (S_ISDIR(mode)) return "a directory";
#ifdef S_ISFIFO
    if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
#endif
#ifdef S_ISCHR
    if (S_ISCHR(mode)) return "a character device";
#endif
#ifdef S_ISBLK
    if (S_ISBLK(mode)) return "a block device";
#endif
#ifdef S_ISSOCK
    if (S_ISSOCK(mode)) return "a socket";
#endif
    return "not a regular file";
}
}  // namespace
#endif

std::string open_model_file(const std::string & path, ModelFile & out) {
#ifdef _WIN32
    // No FIFOs to block on; ggml_fopen handles UTF-8 paths.
    FILE * fp = ggml_fopen(path.c_str(), "rb");
    if (!fp) return std::string("cannot open it: ") + std::strerror(errno);
    struct _stat64 st;
    if (_fstat64(_fileno(fp), &st) != 0 || (st.st_mode & _S_IFMT) != _S_IFREG) {
        std::fclose(fp);
        return "it is not a regular file";
    }
    out.fp = fp;
    out.size = (uint64_t) st.st_size;
    return "";
#else
    // O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer.
    // fstat on the open descriptor decides, so a path swapped after any earlier check cannot slip through.
    int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return std::string("cannot open it: ") + std::strerror(errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
        const int e = errno;
        ::close(fd);
        return std::string("cannot stat it: ") + std::strerror(e);
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        return "it is " + kind_of(st.st_mode) + ", not a regular file";
    }
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    FILE * fp = ::fdopen(fd, "rb");
    if (!fp) {
        const int e = errno;
        ::close(fd);
        return std::string("cannot open it: ") + std::strerror(e);
    }
    out.fp = fp;
    out.size = (uint64_t) st.st_size;
    return "";
#endif
}

}  // namespace ps
