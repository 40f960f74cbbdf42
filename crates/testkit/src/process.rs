//! The one child-process wrapper of the harness: spawn with stdout piped, wait a bounded time
//! for a line announcing the process is up, keep stderr lines for error messages when asked,
//! and kill (SIGKILL) and reap on drop.

use crate::HarnessError;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// A child process, killed with SIGKILL and reaped on drop.
pub struct Process {
    child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Process {
    /// Spawns `cmd` with stdout piped and returns it once a stdout line starts with `ready`,
    /// with the rest of that line. If `capture_stderr`, stderr is piped and kept (see
    /// [`Process::stderr`]); otherwise `cmd`'s own stderr setting stands.
    pub fn spawn(
        mut cmd: Command,
        ready: &str,
        limit: Duration,
        capture_stderr: bool,
    ) -> Result<(Process, String), HarnessError> {
        cmd.stdout(Stdio::piped());
        if capture_stderr {
            cmd.stderr(Stdio::piped());
        }
        let program = cmd.get_program().to_string_lossy().into_owned();
        let mut child =
            cmd.spawn().map_err(|e| HarnessError::Process(format!("spawn {program}: {e}")))?;
        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(pipe) = child.stderr.take() {
            let lines = stderr.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    lines.lock().unwrap_or_else(|p| p.into_inner()).push(line);
                }
            });
        }
        let stdout = child.stdout.take().ok_or(HarnessError::Process("no stdout".into()))?;
        let mut process = Process { child, stderr };
        match wait_for_line(stdout, ready, limit) {
            Some(rest) => Ok((process, rest)),
            None => {
                process.stop();
                // Let the stderr reader drain what the process wrote before it died.
                std::thread::sleep(Duration::from_millis(200));
                let status = process.child.try_wait().ok().flatten();
                Err(HarnessError::Process(format!(
                    "{program} printed no `{ready}` line within {limit:?} (exit: {status:?}): {}",
                    process.stderr()
                )))
            }
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the process wrote to stderr so far (when captured).
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap_or_else(|p| p.into_inner()).join("\n")
    }

    /// Whether the process has exited (and its status).
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGKILL, no clean shutdown, and reap.
    pub fn kill(mut self) {
        self.stop();
    }

    /// SIGTERM (a clean shutdown request); does not wait.
    pub fn terminate(&self) -> Result<(), HarnessError> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .map_err(HarnessError::Io)?;
        if status.success() {
            Ok(())
        } else {
            Err(HarnessError::Process(format!("kill -TERM {} failed", self.child.id())))
        }
    }

    /// Waits up to `limit` for the process to exit by itself.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads `output` on a thread and returns the rest of the first line starting with `prefix`
/// (trimmed), or `None` if none arrives within `limit` or the stream ends first.
pub fn wait_for_line(
    output: impl Read + Send + 'static,
    prefix: &str,
    limit: Duration,
) -> Option<String> {
    let prefix = prefix.to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(output).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix(&prefix) {
                let _ = tx.send(rest.trim().to_string());
            }
        }
    });
    rx.recv_timeout(limit).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_for_line_returns_the_rest_of_the_first_matching_line() {
        let out = std::io::Cursor::new(
            b"noise\nRPC listening on ws://127.0.0.1:9 \nRPC listening on x\n".to_vec(),
        );
        let got = wait_for_line(out, "RPC listening on ", Duration::from_secs(5));
        assert_eq!(got.as_deref(), Some("ws://127.0.0.1:9"));
    }

    #[test]
    fn wait_for_line_gives_none_when_the_stream_ends_without_it() {
        let out = std::io::Cursor::new(b"starting\nfailed\n".to_vec());
        assert_eq!(wait_for_line(out, "RPC listening on ", Duration::from_secs(5)), None);
    }

    #[test]
    fn a_process_that_never_announces_itself_is_an_error_not_a_hang() {
        let cmd = Command::new("/bin/false");
        let err = Process::spawn(cmd, "ready", Duration::from_secs(5), true).err().unwrap();
        assert!(err.to_string().contains("printed no `ready` line"), "{err}");
    }
}
