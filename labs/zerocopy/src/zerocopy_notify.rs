//! `MSG_ZEROCOPY`'s ids and completion notifications (`net/core/skbuff.c`:
//! `msg_zerocopy_alloc()`, `msg_zerocopy_realloc()`,
//! `msg_zerocopy_put_abort()`, `msg_zerocopy_complete()`,
//! `skb_zerocopy_notify_extend()`, `__msg_zerocopy_callback()`;
//! `Documentation/networking/msg_zerocopy.rst`).
//!
//! Each `send(MSG_ZEROCOPY)` gets the socket's next 32-bit id
//! (`sk->sk_zckey`, from 0, wrapping at 2^32). Its pages are referenced by
//! the skbs that carry them; a `struct ubuf_info_msgzc` ([`Ubuf`]) covers
//! the ids `id..id+len` of one or more sends (a TCP send that joins the
//! unsent tail of the previous zero-copy send shares its buffer: `len`
//! grows). When the buffer's last reference goes, the process is told on
//! the socket's error queue: a `sock_extended_err` with `ee_origin =
//! SO_EE_ORIGIN_ZEROCOPY`, ids `ee_info..=ee_data`, and `ee_code =
//! SO_EE_CODE_ZEROCOPY_COPIED` if the kernel had to copy after all. A
//! completion that continues the range of the notification at the tail of
//! the queue (not yet read) extends it instead of queueing a new one: one
//! `recvmsg(MSG_ERRQUEUE)` may report thousands of sends.

// The stack compiles this file as one of its own modules: name the lab's
// types with `super::` and the stack's with `stack::`, never `crate::`.

// The skeleton leaves everything unused; delete this line when you are done.
#![allow(unused_variables, unused_imports, dead_code)]

use stack::errqueue::SockExtendedErr;
use stack::uapi::{SO_EE_CODE_ZEROCOPY_COPIED, SO_EE_ORIGIN_ZEROCOPY};

/// `byte_limit` in `msg_zerocopy_realloc()`: a buffer covers at most
/// 512 KiB of sends ("a few TSO").
pub const ZC_BYTE_LIMIT: u32 = 1 << 19;

/// `struct ubuf_info_msgzc`: the ids `id..id+len` of the sends it covers,
/// their bytes, and whether all of them went out without a copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ubuf {
    /// The first id.
    pub id: u32,
    /// How many ids (a `u16`, as in the kernel).
    pub len: u16,
    /// Bytes of the sends it covers.
    pub bytelen: u32,
    /// No byte of its sends was copied.
    pub zerocopy: bool,
}

impl Ubuf {
    /// `msg_zerocopy_complete()`: one of the skbs using the buffer is
    /// freed; `success` false means its bytes were copied after all
    /// (`skb_copy_ubufs()`), which marks the whole buffer as copied.
    pub fn complete(&mut self, success: bool) {
        todo!(
            "the zerocopy lab: Ubuf::complete is yours to write, in labs/zerocopy/src/zerocopy_notify.rs"
        )
    }
}

/// What [`ZcKey::realloc`] did with a send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Realloc {
    /// The send joined the tail buffer (its `len` and `bytelen` grew).
    Joined,
    /// The send got a buffer of its own.
    New(Ubuf),
    /// No buffer (a datagram socket whose tail buffer is full).
    Refused,
}

/// `sk->sk_zckey`: the id the next zero-copy send gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ZcKey {
    next: u32,
}

impl ZcKey {
    /// A counter whose next id is `next`.
    pub fn new(next: u32) -> ZcKey {
        todo!(
            "the zerocopy lab: ZcKey::new is yours to write, in labs/zerocopy/src/zerocopy_notify.rs"
        )
    }

    /// The id the next send gets.
    pub fn next(&self) -> u32 {
        todo!(
            "the zerocopy lab: ZcKey::next is yours to write, in labs/zerocopy/src/zerocopy_notify.rs"
        )
    }

    /// `msg_zerocopy_alloc()`: a buffer for one send of `size` bytes, with
    /// the next id (`atomic_inc_return(&sk->sk_zckey) - 1`).
    pub fn alloc(&mut self, size: u32) -> Ubuf {
        todo!(
            "the zerocopy lab: ZcKey::alloc is yours to write, in labs/zerocopy/src/zerocopy_notify.rs"
        )
    }

    /// `msg_zerocopy_realloc()`: a send of `size` bytes appended to the
    /// data of `tail` (the buffer of the unsent skb it joins). If `tail`
    /// is full (`len == u16::MAX - 1`, or the bytes would pass
    /// [`ZC_BYTE_LIMIT`]), a stream socket gets a new buffer and a
    /// datagram socket none. Otherwise, if `tail`'s ids end right where
    /// the next id is (nothing else got an id since), the send joins it:
    /// one more id, its bytes added. Else a new buffer.
    pub fn realloc(&mut self, tail: Option<&mut Ubuf>, size: u32, stream: bool) -> Realloc {
        todo!(
            "the zerocopy lab: ZcKey::realloc is yours to write, in labs/zerocopy/src/zerocopy_notify.rs"
        )
    }

    /// `msg_zerocopy_put_abort()`: the send failed before using its id:
    /// the id goes back to the socket and the buffer covers one send fewer
    /// (a buffer left with none is freed without a notification).
    pub fn put_abort(&mut self, ubuf: &mut Ubuf) {
        todo!(
            "the zerocopy lab: ZcKey::put_abort is yours to write, in labs/zerocopy/src/zerocopy_notify.rs"
        )
    }
}

/// `skb_zerocopy_notify_extend()`: the completed range `lo..lo+len-1`
/// extends the notification `tail` if it starts right after `tail`'s
/// `ee_data` (wrapping) and the merged range covers fewer than 2^32 ids.
/// The `ee_code`s are not compared: `tail`'s stands.
pub fn skb_zerocopy_notify_extend(tail: &mut SockExtendedErr, lo: u32, len: u16) -> bool {
    todo!(
        "the zerocopy lab: skb_zerocopy_notify_extend is yours to write, in labs/zerocopy/src/zerocopy_notify.rs"
    )
}

/// `__msg_zerocopy_callback()`: the last reference to `done` went. A
/// buffer whose sends were all aborted (`len == 0`) reports nothing
/// (`None`). Otherwise its ids `id..=id+len-1` extend `tail` (the error
/// queue's newest entry, if any) when that is a zero-copy notification
/// and [`skb_zerocopy_notify_extend`] agrees (`None`: nothing new to
/// queue), or make the notification returned, to be queued.
pub fn msg_zerocopy_callback(
    tail: Option<&mut SockExtendedErr>,
    done: &Ubuf,
) -> Option<SockExtendedErr> {
    todo!(
        "the zerocopy lab: msg_zerocopy_callback is yours to write, in labs/zerocopy/src/zerocopy_notify.rs"
    )
}
