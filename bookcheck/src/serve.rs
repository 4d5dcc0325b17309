//! A static file server for a built book on `127.0.0.1`, for the browser
//! checks: pages that start workers and fetch the playground's module
//! must come over HTTP, as they do from GitHub Pages or a reader's
//! `python3 -m http.server` (a `file://` page may not start a worker).
//! GET only; the query string is ignored; `..` is refused.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};

/// A server running on its own thread until the process ends.
pub struct Server {
    /// `http://127.0.0.1:PORT/`.
    pub base: String,
}

/// Serves `dir` on a port the kernel picks.
pub fn serve(dir: &Path) -> std::io::Result<Server> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}/", listener.local_addr()?);
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let dir = dir.clone();
            std::thread::spawn(move || {
                let _ = answer(conn, &dir);
            });
        }
    });
    Ok(Server { base })
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript",
        "css" => "text/css",
        "wasm" => "application/wasm",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "json" => "application/json",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "pdf" => "application/pdf",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The file a request path names, or `None` for one that leaves `dir`.
fn file_for(dir: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let rel = Path::new(path.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let file = dir.join(rel);
    Some(if file.is_dir() {
        file.join("index.html")
    } else {
        file
    })
}

fn answer(mut conn: TcpStream, dir: &Path) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    // The headers: read and ignored.
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    let mut parts = request.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let found = file_for(dir, target).and_then(|f| Some((std::fs::read(&f).ok()?, f)));
    match (method, found) {
        ("GET", Some((body, file))) => {
            write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                content_type(&file),
                body.len()
            )?;
            conn.write_all(&body)
        }
        _ => conn
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_folder() {
        let dir = Path::new("/srv/book");
        assert_eq!(file_for(dir, "/ch01.html?x=1"), Some(dir.join("ch01.html")));
        assert_eq!(file_for(dir, "/../etc/passwd"), None);
        assert_eq!(file_for(dir, "/a/../../b"), None);
    }
}
