//! The playground's program: every example of `stack/examples/` in one
//! WebAssembly module (the `playground` package, built for
//! `wasm32-wasip1` with the `wasm` profile), put next to the pages as
//! `playground/playground.wasm`, where `book/playground/worker.js` loads it.
//! A serving of the built folder is all the browser needs (see
//! `docs/playground.md`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The WebAssembly target the examples are built for.
pub const TARGET: &str = "wasm32-wasip1";

/// Builds the module (incrementally, in `target/wasm`) and returns its path.
pub fn build_wasm(root: &Path) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = root.join("target/wasm");
    let out = Command::new(&cargo)
        .current_dir(root)
        .args([
            "build",
            "--quiet",
            "--locked",
            "--profile",
            "wasm",
            "-p",
            "playground",
        ])
        .args(["--target", TARGET])
        .arg("--target-dir")
        .arg(&target_dir)
        .output()
        .map_err(|e| format!("running {cargo}: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let hint = if err.contains("target may not be installed")
            || err.contains("can't find crate for `std`")
        {
            format!("\n(the target is missing: rustup target add {TARGET})")
        } else {
            String::new()
        };
        return Err(format!(
            "building the playground for {TARGET} failed:\n{err}{hint}"
        ));
    }
    Ok(target_dir.join(TARGET).join("wasm").join("playground.wasm"))
}

/// Builds the module and copies it into a built book's `html` folder.
pub fn install(root: &Path, html: &Path) -> Result<(), String> {
    let wasm = build_wasm(root)?;
    let dest = html.join("playground/playground.wasm");
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::copy(&wasm, &dest)
        .map_err(|e| format!("{} -> {}: {e}", wasm.display(), dest.display()))?;
    Ok(())
}
