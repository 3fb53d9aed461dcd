#include "berth/storage/storage_error.hpp"

#include <cerrno>
#include <cstring>

namespace berth::storage {

StorageError io_error(const std::string& context, int error_number) {
    const bool full = error_number == ENOSPC || error_number == EDQUOT;
    return {full ? ErrorKind::ResourceExhausted : ErrorKind::Internal,
            context + ": " + std::strerror(error_number)};
}

}  // namespace berth::storage
