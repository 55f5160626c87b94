#include "cdpcore/error.hpp"

namespace cdpcore {

const char* error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::ok: return "CDP_OK";
    case ErrorCode::error: return "CDP_ERROR";
    case ErrorCode::invalid_argument: return "CDP_EINVAL";
    case ErrorCode::not_found: return "CDP_ENOTFOUND";
    case ErrorCode::parse: return "CDP_EPARSE";
    case ErrorCode::conflict: return "CDP_ECONFLICT";
    case ErrorCode::io: return "CDP_EIO";
    case ErrorCode::corrupt: return "CDP_ECORRUPT";
    case ErrorCode::version: return "CDP_EVERSION";
    case ErrorCode::no_memory: return "CDP_ENOMEM";
    case ErrorCode::limit: return "CDP_ELIMIT";
    case ErrorCode::utf8: return "CDP_EUTF8";
    case ErrorCode::unsupported: return "CDP_EUNSUPPORTED";
    case ErrorCode::type: return "CDP_ETYPE";
    case ErrorCode::cancelled: return "CDP_ECANCELLED";
    case ErrorCode::busy: return "CDP_EBUSY";
    case ErrorCode::state: return "CDP_ESTATE";
  }
  return "CDP_UNKNOWN";
}

Error::Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
Error::~Error() = default;

// Out-of-line destructors anchor each class's vtable and typeinfo in the
// library, so `catch (const cdpcore::NotFound&)` works across the DSO boundary.
InvalidArgument::~InvalidArgument() = default;
NotFound::~NotFound() = default;
Conflict::~Conflict() = default;
IoError::~IoError() = default;
CorruptError::~CorruptError() = default;
VersionError::~VersionError() = default;
LimitError::~LimitError() = default;
Unsupported::~Unsupported() = default;
TypeError::~TypeError() = default;
Cancelled::~Cancelled() = default;
BusyError::~BusyError() = default;
StateError::~StateError() = default;

ParseError::ParseError(const std::string& message, uint64_t offset, uint32_t line, uint32_t column)
    : Error(ErrorCode::parse, message), offset_(offset), line_(line), column_(column) {}
ParseError::~ParseError() = default;

Utf8Error::Utf8Error(const std::string& message, uint64_t offset)
    : Error(ErrorCode::utf8, message), offset_(offset) {}
Utf8Error::~Utf8Error() = default;

}  // namespace cdpcore
