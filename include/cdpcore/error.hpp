// cdpcore — errors.
//
// Every failure inside the C++ library is a cdpcore::Error (or a subclass)
// carrying the same code the C ABI returns. Expected outcomes (a denied
// consent check, an unknown identifier) are values, never exceptions.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>


namespace cdpcore {

/// The status codes of the C ABI (cdpcore/c/common.h), as a C++ enum.
enum class ErrorCode : int32_t {
  ok = 0,
  error = -1,
  invalid_argument = -2,
  not_found = -3,
  parse = -4,
  conflict = -5,
  io = -6,
  corrupt = -7,
  version = -8,
  no_memory = -9,
  limit = -10,
  utf8 = -11,
  unsupported = -12,
  type = -13,
  cancelled = -14,
  busy = -15,
  state = -16,
};

/// "CDP_EPARSE" for ErrorCode::parse, and so on.
const char* error_code_name(ErrorCode code) noexcept;

/// Base of every exception the library throws. Thread safety: a value type.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message);
  ~Error() override;
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

#define CDPCORE_DECLARE_ERROR(Name, Code)                                  \
  class Name : public Error {                                      \
   public:                                                                 \
    explicit Name(const std::string& message) : Error(Code, message) {}   \
    ~Name() override;                                                      \
  }

CDPCORE_DECLARE_ERROR(InvalidArgument, ErrorCode::invalid_argument);
CDPCORE_DECLARE_ERROR(NotFound, ErrorCode::not_found);
CDPCORE_DECLARE_ERROR(Conflict, ErrorCode::conflict);
CDPCORE_DECLARE_ERROR(IoError, ErrorCode::io);
CDPCORE_DECLARE_ERROR(CorruptError, ErrorCode::corrupt);
CDPCORE_DECLARE_ERROR(VersionError, ErrorCode::version);
CDPCORE_DECLARE_ERROR(LimitError, ErrorCode::limit);
CDPCORE_DECLARE_ERROR(Unsupported, ErrorCode::unsupported);
CDPCORE_DECLARE_ERROR(TypeError, ErrorCode::type);
CDPCORE_DECLARE_ERROR(Cancelled, ErrorCode::cancelled);
CDPCORE_DECLARE_ERROR(BusyError, ErrorCode::busy);
CDPCORE_DECLARE_ERROR(StateError, ErrorCode::state);
#undef CDPCORE_DECLARE_ERROR

/// Text or bytes that do not parse. `offset` is a byte offset into the input;
/// `line` and `column` (1-based, 0 when not applicable) locate it in text.
class ParseError : public Error {
 public:
  ParseError(const std::string& message, uint64_t offset, uint32_t line = 0, uint32_t column = 0);
  ~ParseError() override;
  uint64_t offset() const noexcept { return offset_; }
  uint32_t line() const noexcept { return line_; }
  uint32_t column() const noexcept { return column_; }

 private:
  uint64_t offset_;
  uint32_t line_;
  uint32_t column_;
};

/// A string that is not valid UTF-8; `offset` is the first bad byte.
class Utf8Error : public Error {
 public:
  Utf8Error(const std::string& message, uint64_t offset);
  ~Utf8Error() override;
  uint64_t offset() const noexcept { return offset_; }

 private:
  uint64_t offset_;
};

}  // namespace cdpcore
