//! Standard output for data (reports, JSON, listings). A closed pipe (`check-wheel --json W |
//! head -1`) ends the output quietly: the command goes on to its exit code instead of dying
//! with a panic in `println!`.

use std::io::Write;

/// Standard output, written line by line until the reader goes away.
pub struct Output {
    closed: bool,
}

impl Output {
    pub fn stdout() -> Output {
        Output { closed: false }
    }

    /// Writes one line; after the reader closed the pipe, nothing more.
    pub fn line(&mut self, line: &str) {
        if self.closed {
            return;
        }
        let mut out = std::io::stdout().lock();
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            self.closed = true;
        }
    }
}
