// A minimal WASI (preview 1) for the book's playground: just what a
// program needs to read its arguments, write stdout and stderr, and exit.
// There is no file system (no preopened folder: opening a file fails with
// ENOTCAPABLE) and no environment. Any other call answers ENOSYS.
// Used by worker.js; see docs/playground.md.
(function (global) {
  "use strict";
  var EBADF = 8, ENOSYS = 52, ENOTCAPABLE = 76;

  function Exit(code) { this.code = code; }

  // args: the command line, program name first. onOut/onErr receive the
  // bytes the program writes to fd 1 and fd 2.
  function makeWasi(args, onOut, onErr) {
    var memory = null;
    var enc = new TextEncoder();
    var argv = args.map(function (a) { return enc.encode(a + "\0"); });
    var view = function () { return new DataView(memory.buffer); };
    var bytes = function () { return new Uint8Array(memory.buffer); };
    var calls = {
      args_sizes_get: function (countPtr, sizePtr) {
        var v = view();
        v.setUint32(countPtr, argv.length, true);
        v.setUint32(sizePtr, argv.reduce(function (n, b) { return n + b.length; }, 0), true);
        return 0;
      },
      args_get: function (ptrs, buf) {
        var v = view(), m = bytes();
        argv.forEach(function (b) {
          v.setUint32(ptrs, buf, true);
          ptrs += 4;
          m.set(b, buf);
          buf += b.length;
        });
        return 0;
      },
      environ_sizes_get: function (countPtr, sizePtr) {
        view().setUint32(countPtr, 0, true);
        view().setUint32(sizePtr, 0, true);
        return 0;
      },
      environ_get: function () { return 0; },
      fd_write: function (fd, iovs, count, writtenPtr) {
        if (fd !== 1 && fd !== 2) { return EBADF; }
        var v = view(), m = bytes(), total = 0;
        for (var i = 0; i < count; i++) {
          var ptr = v.getUint32(iovs + 8 * i, true);
          var len = v.getUint32(iovs + 8 * i + 4, true);
          (fd === 1 ? onOut : onErr)(m.slice(ptr, ptr + len));
          total += len;
        }
        v.setUint32(writtenPtr, total, true);
        return 0;
      },
      fd_fdstat_get: function (fd, statPtr) {
        if (fd > 2) { return EBADF; }
        bytes().fill(0, statPtr, statPtr + 24);
        view().setUint8(statPtr, 2); // a character device
        return 0;
      },
      fd_close: function (fd) { return fd > 2 ? EBADF : 0; },
      fd_prestat_get: function () { return EBADF; },
      fd_prestat_dir_name: function () { return EBADF; },
      path_open: function () { return ENOTCAPABLE; },
      proc_exit: function (code) { throw new Exit(code); },
      random_get: function (ptr, len) {
        var m = bytes();
        for (var at = 0; at < len; at += 65536) {
          crypto.getRandomValues(m.subarray(ptr + at, ptr + Math.min(len, at + 65536)));
        }
        return 0;
      },
      sched_yield: function () { return 0; },
    };
    var wasi = new Proxy(calls, {
      get: function (t, name) { return t[name] || function () { return ENOSYS; }; },
    });
    return {
      imports: { wasi_snapshot_preview1: wasi },
      // Runs the program; its exit status.
      start: function (instance) {
        memory = instance.exports.memory;
        try {
          instance.exports._start();
          return 0;
        } catch (e) {
          if (e instanceof Exit) { return e.code; }
          throw e;
        }
      },
    };
  }

  global.PlaygroundWasi = { makeWasi: makeWasi };
})(self);
