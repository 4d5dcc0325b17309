// The book's playground: run an example in the reader's browser, with its
// knobs turned. Loaded on every page (book.toml, additional-js).
//
// - Under an example's output, a `<div class="run-example"
//   data-example="NAME"></div>` becomes a button; pressed, it loads the
//   examples' WebAssembly program, shows the example's knobs as fields,
//   and Run replaces the output above it with a fresh one.
// - On playground.html, `?example=NAME&KNOB=VALUE...` runs on load and
//   writes the whole output, as text, into the element with id `output`
//   (then `data-status` is "done", and `data-exit` the exit status).
//
// The knobs come from the program itself (`NAME --knobs-json`), so the
// fields are always the ones the example declares. Nothing is downloaded
// until a reader asks for a run. See docs/playground.md.
(function () {
  "use strict";
  var root = typeof path_to_root === "string" ? path_to_root : "";
  var worker = null, nextId = 1, waiting = {};

  // A page opened from the disk may not start a worker: say how to serve
  // the book instead.
  var offline = location.protocol === "file:";
  var OFFLINE = "the playground needs the book served over HTTP " +
    "(python3 -m http.server in the built book's folder; see the Playground page)";

  function run(args) {
    if (offline) { return Promise.reject(new Error(OFFLINE)); }
    if (!worker) {
      try {
        worker = new Worker(root + "playground/worker.js");
      } catch (e) {
        return Promise.reject(e);
      }
      worker.onmessage = function (e) {
        var w = waiting[e.data.id];
        delete waiting[e.data.id];
        if (!w) { return; }
        if (e.data.error) { w.reject(new Error(e.data.error)); } else { w.resolve(e.data); }
      };
      worker.onerror = function (e) {
        Object.keys(waiting).forEach(function (id) { waiting[id].reject(new Error(e.message)); });
        waiting = {};
      };
    }
    var id = nextId++;
    return new Promise(function (resolve, reject) {
      waiting[id] = { resolve: resolve, reject: reject };
      worker.postMessage({ id: id, args: args });
    });
  }

  var knobCache = {};
  function knobsOf(example) {
    if (!knobCache[example]) {
      knobCache[example] = run([example, "--knobs-json"]).then(function (r) {
        if (r.code !== 0) { throw new Error(r.stderr || "no such example: " + example); }
        return JSON.parse(r.stdout).knobs.filter(function (k) { return !k.native_only; });
      });
    }
    return knobCache[example];
  }

  // The command line of a run: each knob whose value is not its default.
  function argsOf(example, knobs, values) {
    var args = [example];
    knobs.forEach(function (k) {
      var v = values[k.name];
      if (v !== undefined && v !== "" && String(v) !== String(k.default)) {
        args.push("--" + k.name, String(v));
      }
    });
    return args;
  }

  function command(args) {
    var cmd = "cargo run -q -p stack --example " + args[0];
    return args.length > 1 ? cmd + " -- " + args.slice(1).join(" ") : cmd;
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (a) { e.setAttribute(a, attrs[a]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  // A field per knob; returns a function that reads their values.
  function fields(into, knobs, values) {
    var inputs = {};
    knobs.forEach(function (k) {
      var label = el("label", { "class": "playground-knob", title: k.help });
      label.appendChild(el("span", {}, k.name));
      var input;
      if (k.kind === "choice") {
        input = el("select");
        k.choices.forEach(function (c) { input.appendChild(el("option", { value: c }, c)); });
      } else {
        input = el("input", { type: k.kind === "text" ? "text" : "number" });
        if (k.kind !== "text") {
          input.min = k.min;
          input.max = k.max;
          input.step = k.kind === "int" ? "1" : "any";
        }
      }
      input.name = k.name;
      input.value = values[k.name] !== undefined ? values[k.name] : k.default;
      label.appendChild(input);
      label.appendChild(el("small", {}, k.help));
      into.appendChild(label);
      inputs[k.name] = input;
    });
    return function () {
      var v = {};
      Object.keys(inputs).forEach(function (n) { v[n] = inputs[n].value; });
      return v;
    };
  }

  // Runs `args`, showing "running…" on `status` if it takes more than a
  // blink; resolves to the text to show.
  function runShowing(args, status) {
    var timer = setTimeout(function () {
      status.textContent = "running…";
      status.classList.add("playground-running");
    }, 150);
    return run(args).then(function (r) {
      clearTimeout(timer);
      status.classList.remove("playground-running");
      status.textContent = r.code === 0 ? "" : "exit status " + r.code;
      return r;
    }, function (e) {
      clearTimeout(timer);
      status.classList.remove("playground-running");
      status.textContent = "could not run: " + e.message;
      throw e;
    });
  }

  function outputText(r) {
    return r.code === 0 ? r.stdout : r.stdout + r.stderr;
  }

  // Under an example's output in a chapter.
  function widget(div) {
    var example = div.getAttribute("data-example");
    var pre = div.previousElementSibling;
    while (pre && pre.tagName !== "PRE") { pre = pre.previousElementSibling; }
    if (!pre) { return; }
    var code = pre.querySelector("code") || pre;
    var original = code.textContent;
    var open = el("button", { type: "button", "class": "playground-open" },
      "Run it here, with other knobs");
    div.appendChild(open);
    open.addEventListener("click", function () {
      open.disabled = true;
      var status = el("span", { "class": "playground-status" });
      div.appendChild(status);
      status.textContent = "loading…";
      knobsOf(example).then(function (knobs) {
        status.textContent = "";
        div.removeChild(open);
        var form = el("form", { "class": "playground-form" });
        var read = fields(form, knobs, {});
        var go = el("button", { type: "submit" }, "Run");
        var reset = el("button", { type: "button" }, "Back to the book's output");
        var cmd = el("code", { "class": "playground-command" });
        form.appendChild(go);
        form.appendChild(reset);
        form.appendChild(status);
        div.appendChild(form);
        div.appendChild(cmd);
        form.addEventListener("submit", function (e) {
          e.preventDefault();
          var args = argsOf(example, knobs, read());
          cmd.textContent = command(args);
          go.disabled = true;
          runShowing(args, status).then(function (r) {
            code.textContent = outputText(r);
            pre.classList.add("playground-fresh");
          }).catch(function () {}).then(function () { go.disabled = false; });
        });
        reset.addEventListener("click", function () {
          code.textContent = original;
          cmd.textContent = "";
          pre.classList.remove("playground-fresh");
        });
      }, function (e) {
        open.disabled = false;
        status.textContent = "could not load the playground: " + e.message;
      });
    });
  }

  // playground.html
  function page(box) {
    var output = document.getElementById("output");
    var params = new URLSearchParams(location.search);
    var example = params.get("example");
    var given = {};
    params.forEach(function (v, k) { if (k !== "example") { given[k] = v; } });
    var status = el("p", { "class": "playground-status" });
    var pick = el("select", { id: "playground-example" });
    var form = el("form", { "class": "playground-form" });
    var cmd = el("code", { "class": "playground-command", id: "command" });
    box.appendChild(pick);
    box.appendChild(form);
    box.appendChild(cmd);
    box.appendChild(status);
    var read = function () { return {}; };
    var knobs = [];
    function show(name, values) {
      form.innerHTML = "";
      return knobsOf(name).then(function (k) {
        knobs = k;
        read = fields(form, knobs, values);
        form.appendChild(el("button", { type: "submit" }, "Run"));
      });
    }
    function go(name, args) {
      cmd.textContent = command(args);
      output.removeAttribute("data-status");
      return runShowing(args, status).then(function (r) {
        output.textContent = outputText(r);
        output.setAttribute("data-exit", String(r.code));
        output.setAttribute("data-status", "done");
      }, function (e) {
        output.textContent = "could not run: " + e.message;
        output.setAttribute("data-status", "error");
      });
    }
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var args = argsOf(pick.value, knobs, read());
      var q = new URLSearchParams({ example: pick.value });
      for (var i = 1; i < args.length; i += 2) { q.set(args[i].slice(2), args[i + 1]); }
      history.replaceState(null, "", "?" + q.toString());
      go(pick.value, args);
    });
    pick.addEventListener("change", function () { show(pick.value, {}); });
    status.textContent = "loading…";
    run(["--list"]).then(function (r) {
      status.textContent = "";
      r.stdout.split("\n").filter(Boolean).forEach(function (n) {
        pick.appendChild(el("option", { value: n }, n));
      });
      if (example) {
        // Every parameter is passed on, as on a command line: one the
        // example does not have is refused by the example itself.
        var args = [example];
        Object.keys(given).forEach(function (k) { args.push("--" + k, given[k]); });
        pick.value = example;
        show(example, given).catch(function () {});
        return go(example, args);
      }
      return show(pick.value, {});
    }).catch(function (e) {
      status.textContent = "could not load the playground: " + e.message;
      output.setAttribute("data-status", "error");
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("div.run-example[data-example]"), widget);
    var box = document.getElementById("playground-app");
    if (box) { page(box); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
