//! What a public scenario must print, kept beside the test.
//!
//! A lab's public test that runs a scenario in the stack cannot compare the
//! student's code with "the stack's own": in the students' repository the
//! stack runs on the student's code too, so the two always agree. It
//! compares with the log the reference printed instead, kept in a file
//! beside the test (`tests/expected/NAME.txt`, entries separated by a line
//! `----`) and compiled in with `include_str!`. `grader verify` keeps the
//! file true: the reference solution must pass the test. With `LAB_BLESS=1`
//! in the environment the test first rewrites the file from the stack's
//! own run (in the course's repository, the reference), so a change to the
//! stack is one run away from a new expectation.

/// The environment variable that makes [`expected`] rewrite its file.
pub const BLESS_VAR: &str = "LAB_BLESS";

/// The entries of the expectation `text` (the file at `path`, compiled in).
/// With `LAB_BLESS` set, writes `stack_log` (the scenario on the stack's
/// own code) to `path` and returns it.
pub fn expected(path: &str, text: &str, stack_log: &[String]) -> Vec<String> {
    if std::env::var_os(BLESS_VAR).is_some() {
        let mut file = stack_log.join(SEPARATOR);
        file.push('\n');
        if let Err(e) = std::fs::write(path, file) {
            panic!("{BLESS_VAR}: writing {path}: {e}");
        }
        return stack_log.to_vec();
    }
    text.strip_suffix('\n')
        .unwrap_or(text)
        .split(SEPARATOR)
        .map(str::to_string)
        .collect()
}

/// Between two entries of a log in its file.
const SEPARATOR: &str = "\n----\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_come_back_as_they_were_written() {
        let log = vec!["one".to_string(), "two\nlines".to_string(), String::new()];
        let dir = std::env::temp_dir().join(format!("lab-expected-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.txt");
        let mut file = log.join(SEPARATOR);
        file.push('\n');
        std::fs::write(&path, &file).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(expected(path.to_str().unwrap(), &text, &[]), log);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
