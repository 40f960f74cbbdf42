//! The dev identities' p2p ports (127.0.0.1:30401..30406; the first four are registered in the
//! dev genesis) are fixed, so everything that binds them — tests, the bench, the devnet — runs one at a time:
//! within one process (a mutex) and across processes (an exclusive lock on a file in the temp
//! dir; nextest runs every test in its own process, and two `cargo test` runs may overlap).

use std::fs::File;

/// Held while the fixed dev ports are in use.
pub struct DevPortsGuard {
    _in_process: tokio::sync::MutexGuard<'static, ()>,
    _across_processes: File,
}

/// Takes the dev ports lock, waiting for whoever holds it.
pub async fn dev_ports() -> std::io::Result<DevPortsGuard> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let in_process = LOCK.lock().await;
    let file = tokio::task::spawn_blocking(lock_file).await.map_err(std::io::Error::other)??;
    Ok(DevPortsGuard { _in_process: in_process, _across_processes: file })
}

/// The cross-process half alone, for synchronous callers (the bench's `main`).
pub fn lock_file() -> std::io::Result<File> {
    let path = std::env::temp_dir().join("peerseal-dev-p2p-ports.lock");
    let file = File::options().create(true).truncate(false).write(true).open(path)?;
    file.lock()?;
    Ok(file)
}
