//! Error numbers: what a failed system call hands back to user space.
//!
//! In the kernel a failing syscall returns a small negative number: for
//! example `alloc_fd()` in `fs/file.c` returns `-EMFILE` when no descriptor
//! below `RLIMIT_NOFILE` is free. The numbers are defined in
//! `include/uapi/asm-generic/errno-base.h` (1 to 34) and
//! `include/uapi/asm-generic/errno.h` (35 to 133), which x86_64 uses unchanged
//! (`arch/x86/include/uapi/asm/errno.h` only includes them). The C library's
//! syscall wrapper turns the negative return into `-1` and stores the number
//! in `errno`; `strerror()` (and so `perror()`) turns it into the text people
//! actually see. The simulation returns `Err(Errno)` where the kernel returns
//! `-errno`, and prints both the name and glibc's text so the output reads
//! like `strace`.
//!
//! Numbers 41 and 58 are unused on x86_64: `errno.h` puts the aliases
//! `EWOULDBLOCK` (= `EAGAIN`) and `EDEADLOCK` (= `EDEADLK`) where they would
//! be (only powerpc gives `EDEADLOCK` its own 58). They have no variant, and
//! `from_raw` returns `None` for them, just as glibc's `strerror()` says
//! "Unknown error 41". The kernel-internal codes from 512
//! up (`ERESTARTSYS` and friends in `include/linux/errno.h`) never reach
//! user space and are not modelled here.

use std::fmt;

/// `Result` of a simulated system call: the value, or the errno the real
/// call would have set.
pub type SysResult<T> = Result<T, Errno>;

// One table drives the enum, the name and the text, so that they cannot
// drift apart from each other.
macro_rules! errnos {
    ($($name:ident = $n:literal => $text:literal,)*) => {
        /// A Linux (x86_64) error number. Each variant's documentation is
        /// glibc's `strerror()` text for it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(i32)]
        // The variants keep the kernel's spelling, which is all capitals.
        #[allow(clippy::upper_case_acronyms)]
        pub enum Errno {
            $(
                #[doc = $text]
                $name = $n,
            )*
        }

        impl Errno {
            /// Every error number, in increasing numeric order.
            pub const ALL: &'static [Errno] = &[$(Errno::$name,)*];

            /// The error for a raw number, or `None` if Linux has none by
            /// that number (0, negatives, the holes at 41 and 58, and
            /// anything above 133).
            pub const fn from_raw(n: i32) -> Option<Errno> {
                match n {
                    $($n => Some(Errno::$name),)*
                    _ => None,
                }
            }

            /// The symbolic name, as in the C headers and `strace`: `"EMFILE"`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Errno::$name => stringify!($name),)*
                }
            }

            /// glibc's `strerror()` text: `"Too many open files"`.
            pub const fn strerror(self) -> &'static str {
                match self {
                    $(Errno::$name => $text,)*
                }
            }
        }
    };
}

errnos! {
    EPERM = 1 => "Operation not permitted",
    ENOENT = 2 => "No such file or directory",
    ESRCH = 3 => "No such process",
    EINTR = 4 => "Interrupted system call",
    EIO = 5 => "Input/output error",
    ENXIO = 6 => "No such device or address",
    E2BIG = 7 => "Argument list too long",
    ENOEXEC = 8 => "Exec format error",
    EBADF = 9 => "Bad file descriptor",
    ECHILD = 10 => "No child processes",
    EAGAIN = 11 => "Resource temporarily unavailable",
    ENOMEM = 12 => "Cannot allocate memory",
    EACCES = 13 => "Permission denied",
    EFAULT = 14 => "Bad address",
    ENOTBLK = 15 => "Block device required",
    EBUSY = 16 => "Device or resource busy",
    EEXIST = 17 => "File exists",
    EXDEV = 18 => "Invalid cross-device link",
    ENODEV = 19 => "No such device",
    ENOTDIR = 20 => "Not a directory",
    EISDIR = 21 => "Is a directory",
    EINVAL = 22 => "Invalid argument",
    ENFILE = 23 => "Too many open files in system",
    EMFILE = 24 => "Too many open files",
    ENOTTY = 25 => "Inappropriate ioctl for device",
    ETXTBSY = 26 => "Text file busy",
    EFBIG = 27 => "File too large",
    ENOSPC = 28 => "No space left on device",
    ESPIPE = 29 => "Illegal seek",
    EROFS = 30 => "Read-only file system",
    EMLINK = 31 => "Too many links",
    EPIPE = 32 => "Broken pipe",
    EDOM = 33 => "Numerical argument out of domain",
    ERANGE = 34 => "Numerical result out of range",
    EDEADLK = 35 => "Resource deadlock avoided",
    ENAMETOOLONG = 36 => "File name too long",
    ENOLCK = 37 => "No locks available",
    ENOSYS = 38 => "Function not implemented",
    ENOTEMPTY = 39 => "Directory not empty",
    ELOOP = 40 => "Too many levels of symbolic links",
    ENOMSG = 42 => "No message of desired type",
    EIDRM = 43 => "Identifier removed",
    ECHRNG = 44 => "Channel number out of range",
    EL2NSYNC = 45 => "Level 2 not synchronized",
    EL3HLT = 46 => "Level 3 halted",
    EL3RST = 47 => "Level 3 reset",
    ELNRNG = 48 => "Link number out of range",
    EUNATCH = 49 => "Protocol driver not attached",
    ENOCSI = 50 => "No CSI structure available",
    EL2HLT = 51 => "Level 2 halted",
    EBADE = 52 => "Invalid exchange",
    EBADR = 53 => "Invalid request descriptor",
    EXFULL = 54 => "Exchange full",
    ENOANO = 55 => "No anode",
    EBADRQC = 56 => "Invalid request code",
    EBADSLT = 57 => "Invalid slot",
    EBFONT = 59 => "Bad font file format",
    ENOSTR = 60 => "Device not a stream",
    ENODATA = 61 => "No data available",
    ETIME = 62 => "Timer expired",
    ENOSR = 63 => "Out of streams resources",
    ENONET = 64 => "Machine is not on the network",
    ENOPKG = 65 => "Package not installed",
    EREMOTE = 66 => "Object is remote",
    ENOLINK = 67 => "Link has been severed",
    EADV = 68 => "Advertise error",
    ESRMNT = 69 => "Srmount error",
    ECOMM = 70 => "Communication error on send",
    EPROTO = 71 => "Protocol error",
    EMULTIHOP = 72 => "Multihop attempted",
    EDOTDOT = 73 => "RFS specific error",
    EBADMSG = 74 => "Bad message",
    EOVERFLOW = 75 => "Value too large for defined data type",
    ENOTUNIQ = 76 => "Name not unique on network",
    EBADFD = 77 => "File descriptor in bad state",
    EREMCHG = 78 => "Remote address changed",
    ELIBACC = 79 => "Can not access a needed shared library",
    ELIBBAD = 80 => "Accessing a corrupted shared library",
    ELIBSCN = 81 => ".lib section in a.out corrupted",
    ELIBMAX = 82 => "Attempting to link in too many shared libraries",
    ELIBEXEC = 83 => "Cannot exec a shared library directly",
    EILSEQ = 84 => "Invalid or incomplete multibyte or wide character",
    ERESTART = 85 => "Interrupted system call should be restarted",
    ESTRPIPE = 86 => "Streams pipe error",
    EUSERS = 87 => "Too many users",
    ENOTSOCK = 88 => "Socket operation on non-socket",
    EDESTADDRREQ = 89 => "Destination address required",
    EMSGSIZE = 90 => "Message too long",
    EPROTOTYPE = 91 => "Protocol wrong type for socket",
    ENOPROTOOPT = 92 => "Protocol not available",
    EPROTONOSUPPORT = 93 => "Protocol not supported",
    ESOCKTNOSUPPORT = 94 => "Socket type not supported",
    EOPNOTSUPP = 95 => "Operation not supported",
    EPFNOSUPPORT = 96 => "Protocol family not supported",
    EAFNOSUPPORT = 97 => "Address family not supported by protocol",
    EADDRINUSE = 98 => "Address already in use",
    EADDRNOTAVAIL = 99 => "Cannot assign requested address",
    ENETDOWN = 100 => "Network is down",
    ENETUNREACH = 101 => "Network is unreachable",
    ENETRESET = 102 => "Network dropped connection on reset",
    ECONNABORTED = 103 => "Software caused connection abort",
    ECONNRESET = 104 => "Connection reset by peer",
    ENOBUFS = 105 => "No buffer space available",
    EISCONN = 106 => "Transport endpoint is already connected",
    ENOTCONN = 107 => "Transport endpoint is not connected",
    ESHUTDOWN = 108 => "Cannot send after transport endpoint shutdown",
    ETOOMANYREFS = 109 => "Too many references: cannot splice",
    ETIMEDOUT = 110 => "Connection timed out",
    ECONNREFUSED = 111 => "Connection refused",
    EHOSTDOWN = 112 => "Host is down",
    EHOSTUNREACH = 113 => "No route to host",
    EALREADY = 114 => "Operation already in progress",
    EINPROGRESS = 115 => "Operation now in progress",
    ESTALE = 116 => "Stale file handle",
    EUCLEAN = 117 => "Structure needs cleaning",
    ENOTNAM = 118 => "Not a XENIX named type file",
    ENAVAIL = 119 => "No XENIX semaphores available",
    EISNAM = 120 => "Is a named type file",
    EREMOTEIO = 121 => "Remote I/O error",
    EDQUOT = 122 => "Disk quota exceeded",
    ENOMEDIUM = 123 => "No medium found",
    EMEDIUMTYPE = 124 => "Wrong medium type",
    ECANCELED = 125 => "Operation canceled",
    ENOKEY = 126 => "Required key not available",
    EKEYEXPIRED = 127 => "Key has expired",
    EKEYREVOKED = 128 => "Key has been revoked",
    EKEYREJECTED = 129 => "Key was rejected by service",
    EOWNERDEAD = 130 => "Owner died",
    ENOTRECOVERABLE = 131 => "State not recoverable",
    ERFKILL = 132 => "Operation not possible due to RF-kill",
    EHWPOISON = 133 => "Memory page has hardware error",
}

impl Errno {
    /// `EWOULDBLOCK` is `EAGAIN` on Linux (`include/uapi/asm-generic/errno.h`).
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;
    /// `EDEADLOCK` is `EDEADLK` on x86_64 (`include/uapi/asm-generic/errno.h`).
    pub const EDEADLOCK: Errno = Errno::EDEADLK;
    /// `ENOTSUP` is `EOPNOTSUPP` on Linux. The kernel headers do not define
    /// it; glibc's `<bits/errno.h>` does, as this alias.
    pub const ENOTSUP: Errno = Errno::EOPNOTSUPP;

    /// The number the kernel returns (negated) and the C library stores in
    /// `errno`.
    pub const fn raw(self) -> i32 {
        self as i32
    }
}

impl fmt::Display for Errno {
    /// `EMFILE (Too many open files)`: the name for people who grep headers
    /// and the text for people who read `perror()` output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.strerror())
    }
}

impl std::error::Error for Errno {}

impl From<Errno> for std::io::Error {
    fn from(e: Errno) -> Self {
        std::io::Error::from_raw_os_error(e.raw())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_variant_round_trips_through_raw() {
        for &e in Errno::ALL {
            assert_eq!(Errno::from_raw(e.raw()), Some(e), "{e:?}");
        }
    }

    #[test]
    fn the_table_is_1_to_133_without_41_and_58() {
        let raws: Vec<i32> = Errno::ALL.iter().map(|e| e.raw()).collect();
        let expected: Vec<i32> = (1..=133).filter(|n| *n != 41 && *n != 58).collect();
        assert_eq!(raws, expected);
        for n in [i32::MIN, -11, -1, 0, 41, 58, 134, 512, i32::MAX] {
            assert_eq!(Errno::from_raw(n), None, "{n}");
        }
    }

    #[test]
    fn from_raw_agrees_with_all_for_every_small_number() {
        for n in -200..=1000 {
            let listed = Errno::ALL.iter().find(|e| e.raw() == n).copied();
            assert_eq!(Errno::from_raw(n), listed, "{n}");
        }
    }

    #[test]
    fn names_are_unique_and_match_the_variant() {
        let mut seen = HashSet::new();
        for &e in Errno::ALL {
            assert!(seen.insert(e.name()), "duplicate name {}", e.name());
            assert!(e.name().starts_with('E'));
            assert_eq!(e.name(), format!("{e:?}"));
        }
        let texts: HashSet<&str> = Errno::ALL.iter().map(|e| e.strerror()).collect();
        assert_eq!(texts.len(), Errno::ALL.len(), "two errnos share a text");
    }

    #[test]
    fn aliases() {
        assert_eq!(Errno::EWOULDBLOCK, Errno::EAGAIN);
        assert_eq!(Errno::EDEADLOCK.raw(), 35);
        assert_eq!(Errno::ENOTSUP.raw(), 95);
    }

    #[test]
    fn display_shows_name_and_text() {
        assert_eq!(Errno::EMFILE.to_string(), "EMFILE (Too many open files)");
        assert_eq!(
            Errno::EAGAIN.to_string(),
            "EAGAIN (Resource temporarily unavailable)"
        );
        assert_eq!(Errno::ECONNREFUSED.strerror(), "Connection refused");
        assert_eq!(Errno::EADDRINUSE.strerror(), "Address already in use");
        let boxed: Box<dyn std::error::Error> = Box::new(Errno::EBADF);
        assert_eq!(boxed.to_string(), "EBADF (Bad file descriptor)");
    }

    #[test]
    fn converts_to_io_error() {
        let io: std::io::Error = Errno::EMFILE.into();
        assert_eq!(io.raw_os_error(), Some(24));
        let r: SysResult<()> = Err(Errno::EINTR);
        assert_eq!(r, Err(Errno::EINTR));
    }

    /// The numbers agree with the `libc` crate's constants for this target,
    /// name by name.
    #[cfg(target_os = "linux")]
    #[test]
    fn numbers_match_libc() {
        macro_rules! check {
            ($($name:ident),* $(,)?) => {{
                let mut n = 0;
                $(
                    assert_eq!(Errno::$name.raw(), libc::$name, stringify!($name));
                    n += 1;
                )*
                assert_eq!(n, Errno::ALL.len());
            }};
        }
        check!(
            EPERM,
            ENOENT,
            ESRCH,
            EINTR,
            EIO,
            ENXIO,
            E2BIG,
            ENOEXEC,
            EBADF,
            ECHILD,
            EAGAIN,
            ENOMEM,
            EACCES,
            EFAULT,
            ENOTBLK,
            EBUSY,
            EEXIST,
            EXDEV,
            ENODEV,
            ENOTDIR,
            EISDIR,
            EINVAL,
            ENFILE,
            EMFILE,
            ENOTTY,
            ETXTBSY,
            EFBIG,
            ENOSPC,
            ESPIPE,
            EROFS,
            EMLINK,
            EPIPE,
            EDOM,
            ERANGE,
            EDEADLK,
            ENAMETOOLONG,
            ENOLCK,
            ENOSYS,
            ENOTEMPTY,
            ELOOP,
            ENOMSG,
            EIDRM,
            ECHRNG,
            EL2NSYNC,
            EL3HLT,
            EL3RST,
            ELNRNG,
            EUNATCH,
            ENOCSI,
            EL2HLT,
            EBADE,
            EBADR,
            EXFULL,
            ENOANO,
            EBADRQC,
            EBADSLT,
            EBFONT,
            ENOSTR,
            ENODATA,
            ETIME,
            ENOSR,
            ENONET,
            ENOPKG,
            EREMOTE,
            ENOLINK,
            EADV,
            ESRMNT,
            ECOMM,
            EPROTO,
            EMULTIHOP,
            EDOTDOT,
            EBADMSG,
            EOVERFLOW,
            ENOTUNIQ,
            EBADFD,
            EREMCHG,
            ELIBACC,
            ELIBBAD,
            ELIBSCN,
            ELIBMAX,
            ELIBEXEC,
            EILSEQ,
            ERESTART,
            ESTRPIPE,
            EUSERS,
            ENOTSOCK,
            EDESTADDRREQ,
            EMSGSIZE,
            EPROTOTYPE,
            ENOPROTOOPT,
            EPROTONOSUPPORT,
            ESOCKTNOSUPPORT,
            EOPNOTSUPP,
            EPFNOSUPPORT,
            EAFNOSUPPORT,
            EADDRINUSE,
            EADDRNOTAVAIL,
            ENETDOWN,
            ENETUNREACH,
            ENETRESET,
            ECONNABORTED,
            ECONNRESET,
            ENOBUFS,
            EISCONN,
            ENOTCONN,
            ESHUTDOWN,
            ETOOMANYREFS,
            ETIMEDOUT,
            ECONNREFUSED,
            EHOSTDOWN,
            EHOSTUNREACH,
            EALREADY,
            EINPROGRESS,
            ESTALE,
            EUCLEAN,
            ENOTNAM,
            ENAVAIL,
            EISNAM,
            EREMOTEIO,
            EDQUOT,
            ENOMEDIUM,
            EMEDIUMTYPE,
            ECANCELED,
            ENOKEY,
            EKEYEXPIRED,
            EKEYREVOKED,
            EKEYREJECTED,
            EOWNERDEAD,
            ENOTRECOVERABLE,
            ERFKILL,
            EHWPOISON,
        );
        assert_eq!(Errno::EWOULDBLOCK.raw(), libc::EWOULDBLOCK);
        assert_eq!(Errno::EDEADLOCK.raw(), libc::EDEADLOCK);
        assert_eq!(Errno::ENOTSUP.raw(), libc::ENOTSUP);
    }

    /// Differential: every text is what this machine's glibc says. The
    /// standard library's `io::Error` prints `strerror_r()`'s text followed by
    /// " (os error N)", which is stripped.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn strerror_matches_this_machines_libc() {
        for n in 1..=140 {
            let shown = std::io::Error::from_raw_os_error(n).to_string();
            let suffix = format!(" (os error {n})");
            let text = shown.strip_suffix(&suffix).unwrap_or(&shown);
            match Errno::from_raw(n) {
                Some(e) => assert_eq!(e.strerror(), text, "errno {n} ({})", e.name()),
                None => assert_eq!(text, format!("Unknown error {n}")),
            }
        }
    }
}
