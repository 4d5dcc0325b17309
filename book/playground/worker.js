// The playground's Web Worker: runs the examples' WebAssembly program
// (playground.wasm, every example in one module) off the page's thread.
// A message {id, args} runs `playground ARGS...` and answers
// {id, stdout, stderr, code}, or {id, error} if the program could not run.
"use strict";
importScripts("wasi.js");

var compiled = null;

function load() {
  if (!compiled) {
    compiled = fetch("playground.wasm")
      .then(function (r) {
        if (!r.ok) { throw new Error("playground.wasm: HTTP " + r.status); }
        return r.arrayBuffer();
      })
      .then(function (b) { return WebAssembly.compile(b); });
    compiled.catch(function () { compiled = null; });
  }
  return compiled;
}

function text(chunks) {
  var n = chunks.reduce(function (s, c) { return s + c.length; }, 0);
  var all = new Uint8Array(n), at = 0;
  chunks.forEach(function (c) { all.set(c, at); at += c.length; });
  return new TextDecoder().decode(all);
}

onmessage = function (e) {
  var id = e.data.id, args = e.data.args;
  load()
    .then(function (module) {
      var out = [], err = [];
      var wasi = PlaygroundWasi.makeWasi(["playground"].concat(args),
        function (b) { out.push(b); }, function (b) { err.push(b); });
      return WebAssembly.instantiate(module, wasi.imports).then(function (instance) {
        var code;
        try {
          code = wasi.start(instance);
        } catch (x) {
          // A panic aborts: its message is already on stderr.
          code = 101;
          err.push(new TextEncoder().encode("\n" + x + "\n"));
        }
        postMessage({ id: id, stdout: text(out), stderr: text(err), code: code });
      });
    })
    .catch(function (x) { postMessage({ id: id, error: String(x) }); });
};
