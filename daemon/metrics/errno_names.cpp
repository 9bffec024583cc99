#include "metrics/errno_names.h"

#include <cerrno>

namespace execmond {
namespace {

struct KnownErrno {
  int number;
  const char* name;
};

// clang-format off
#define EXECMOND_ERRNO(name) KnownErrno{name, #name}
// The numbers come from the C library's headers, which follow the kernel's for the
// architecture built for. Aliases (EWOULDBLOCK, EDEADLOCK, ENOTSUP) are left out: one
// name per number, the one strerrorname_np(3) gives.
constexpr KnownErrno kKnownErrnos[] = {
    EXECMOND_ERRNO(EPERM),        EXECMOND_ERRNO(ENOENT),          EXECMOND_ERRNO(ESRCH),
    EXECMOND_ERRNO(EINTR),        EXECMOND_ERRNO(EIO),             EXECMOND_ERRNO(ENXIO),
    EXECMOND_ERRNO(E2BIG),        EXECMOND_ERRNO(ENOEXEC),         EXECMOND_ERRNO(EBADF),
    EXECMOND_ERRNO(ECHILD),       EXECMOND_ERRNO(EAGAIN),          EXECMOND_ERRNO(ENOMEM),
    EXECMOND_ERRNO(EACCES),       EXECMOND_ERRNO(EFAULT),          EXECMOND_ERRNO(ENOTBLK),
    EXECMOND_ERRNO(EBUSY),        EXECMOND_ERRNO(EEXIST),          EXECMOND_ERRNO(EXDEV),
    EXECMOND_ERRNO(ENODEV),       EXECMOND_ERRNO(ENOTDIR),         EXECMOND_ERRNO(EISDIR),
    EXECMOND_ERRNO(EINVAL),       EXECMOND_ERRNO(ENFILE),          EXECMOND_ERRNO(EMFILE),
    EXECMOND_ERRNO(ENOTTY),       EXECMOND_ERRNO(ETXTBSY),         EXECMOND_ERRNO(EFBIG),
    EXECMOND_ERRNO(ENOSPC),       EXECMOND_ERRNO(ESPIPE),          EXECMOND_ERRNO(EROFS),
    EXECMOND_ERRNO(EMLINK),       EXECMOND_ERRNO(EPIPE),           EXECMOND_ERRNO(EDOM),
    EXECMOND_ERRNO(ERANGE),       EXECMOND_ERRNO(EDEADLK),         EXECMOND_ERRNO(ENAMETOOLONG),
    EXECMOND_ERRNO(ENOLCK),       EXECMOND_ERRNO(ENOSYS),          EXECMOND_ERRNO(ENOTEMPTY),
    EXECMOND_ERRNO(ELOOP),        EXECMOND_ERRNO(ENOMSG),          EXECMOND_ERRNO(EIDRM),
    EXECMOND_ERRNO(ECHRNG),       EXECMOND_ERRNO(EL2NSYNC),        EXECMOND_ERRNO(EL3HLT),
    EXECMOND_ERRNO(EL3RST),       EXECMOND_ERRNO(ELNRNG),          EXECMOND_ERRNO(EUNATCH),
    EXECMOND_ERRNO(ENOCSI),       EXECMOND_ERRNO(EL2HLT),          EXECMOND_ERRNO(EBADE),
    EXECMOND_ERRNO(EBADR),        EXECMOND_ERRNO(EXFULL),          EXECMOND_ERRNO(ENOANO),
    EXECMOND_ERRNO(EBADRQC),      EXECMOND_ERRNO(EBADSLT),         EXECMOND_ERRNO(EBFONT),
    EXECMOND_ERRNO(ENOSTR),       EXECMOND_ERRNO(ENODATA),         EXECMOND_ERRNO(ETIME),
    EXECMOND_ERRNO(ENOSR),        EXECMOND_ERRNO(ENONET),          EXECMOND_ERRNO(ENOPKG),
    EXECMOND_ERRNO(EREMOTE),      EXECMOND_ERRNO(ENOLINK),         EXECMOND_ERRNO(EADV),
    EXECMOND_ERRNO(ESRMNT),       EXECMOND_ERRNO(ECOMM),           EXECMOND_ERRNO(EPROTO),
    EXECMOND_ERRNO(EMULTIHOP),    EXECMOND_ERRNO(EDOTDOT),         EXECMOND_ERRNO(EBADMSG),
    EXECMOND_ERRNO(EOVERFLOW),    EXECMOND_ERRNO(ENOTUNIQ),        EXECMOND_ERRNO(EBADFD),
    EXECMOND_ERRNO(EREMCHG),      EXECMOND_ERRNO(ELIBACC),         EXECMOND_ERRNO(ELIBBAD),
    EXECMOND_ERRNO(ELIBSCN),      EXECMOND_ERRNO(ELIBMAX),         EXECMOND_ERRNO(ELIBEXEC),
    EXECMOND_ERRNO(EILSEQ),       EXECMOND_ERRNO(ERESTART),        EXECMOND_ERRNO(ESTRPIPE),
    EXECMOND_ERRNO(EUSERS),       EXECMOND_ERRNO(ENOTSOCK),        EXECMOND_ERRNO(EDESTADDRREQ),
    EXECMOND_ERRNO(EMSGSIZE),     EXECMOND_ERRNO(EPROTOTYPE),      EXECMOND_ERRNO(ENOPROTOOPT),
    EXECMOND_ERRNO(EPROTONOSUPPORT), EXECMOND_ERRNO(ESOCKTNOSUPPORT), EXECMOND_ERRNO(EOPNOTSUPP),
    EXECMOND_ERRNO(EPFNOSUPPORT), EXECMOND_ERRNO(EAFNOSUPPORT),    EXECMOND_ERRNO(EADDRINUSE),
    EXECMOND_ERRNO(EADDRNOTAVAIL), EXECMOND_ERRNO(ENETDOWN),       EXECMOND_ERRNO(ENETUNREACH),
    EXECMOND_ERRNO(ENETRESET),    EXECMOND_ERRNO(ECONNABORTED),    EXECMOND_ERRNO(ECONNRESET),
    EXECMOND_ERRNO(ENOBUFS),      EXECMOND_ERRNO(EISCONN),         EXECMOND_ERRNO(ENOTCONN),
    EXECMOND_ERRNO(ESHUTDOWN),    EXECMOND_ERRNO(ETOOMANYREFS),    EXECMOND_ERRNO(ETIMEDOUT),
    EXECMOND_ERRNO(ECONNREFUSED), EXECMOND_ERRNO(EHOSTDOWN),       EXECMOND_ERRNO(EHOSTUNREACH),
    EXECMOND_ERRNO(EALREADY),     EXECMOND_ERRNO(EINPROGRESS),     EXECMOND_ERRNO(ESTALE),
    EXECMOND_ERRNO(EUCLEAN),      EXECMOND_ERRNO(ENOTNAM),         EXECMOND_ERRNO(ENAVAIL),
    EXECMOND_ERRNO(EISNAM),       EXECMOND_ERRNO(EREMOTEIO),       EXECMOND_ERRNO(EDQUOT),
    EXECMOND_ERRNO(ENOMEDIUM),    EXECMOND_ERRNO(EMEDIUMTYPE),     EXECMOND_ERRNO(ECANCELED),
    EXECMOND_ERRNO(ENOKEY),       EXECMOND_ERRNO(EKEYEXPIRED),     EXECMOND_ERRNO(EKEYREVOKED),
    EXECMOND_ERRNO(EKEYREJECTED), EXECMOND_ERRNO(EOWNERDEAD),      EXECMOND_ERRNO(ENOTRECOVERABLE),
    EXECMOND_ERRNO(ERFKILL),      EXECMOND_ERRNO(EHWPOISON),
};
#undef EXECMOND_ERRNO
// clang-format on

constexpr std::size_t kNameCapacity = 20;  // "ENOTRECOVERABLE", "E_OUT_OF_RANGE" and a NUL

class Name {
 public:
  constexpr void append(const char* text) {
    while (*text != '\0') chars_[size_++] = *text++;
  }
  constexpr void append(int number) {
    char digits[12] = {};
    std::size_t count = 0;
    do {
      digits[count++] = static_cast<char>('0' + number % 10);
      number /= 10;
    } while (number != 0);
    while (count > 0) chars_[size_++] = digits[--count];
  }
  constexpr std::string_view view() const { return {chars_, size_}; }

 private:
  char chars_[kNameCapacity] = {};
  std::size_t size_ = 0;
};

struct ErrnoNames {
  Name by_slot[kErrnoSlots];
};

constexpr ErrnoNames make_errno_names() {
  ErrnoNames names{};
  names.by_slot[0].append("E_OUT_OF_RANGE");
  for (int error = 1; error <= kMaxErrno; ++error) {
    Name& name = names.by_slot[error];
    bool known = false;
    for (const KnownErrno& k : kKnownErrnos) {
      if (k.number != error) continue;
      name.append(k.name);
      known = true;
    }
    if (known) continue;
    name.append("E");
    name.append(error);
  }
  return names;
}

constexpr ErrnoNames kErrnoNames = make_errno_names();

static_assert(kErrnoNames.by_slot[2].view() == "ENOENT");
static_assert(kErrnoNames.by_slot[41].view() == "E41");
static_assert(kErrnoNames.by_slot[133].view() == "EHWPOISON");

}  // namespace

std::string_view errno_name(int error) { return kErrnoNames.by_slot[errno_slot(error)].view(); }

}  // namespace execmond
