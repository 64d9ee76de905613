//! Health of a process: healthy until a role it runs has stopped with an error.

use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
pub struct Health {
    failures: Arc<Mutex<Vec<(String, String)>>>,
}

impl Health {
    /// Records that `role` stopped with `error`.
    pub fn fail(&self, role: &str, error: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((role.to_string(), error.to_string()));
    }

    /// Whether all is well, and a JSON body saying so.
    pub fn report(&self, backend: &str) -> (bool, String) {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let failed: Vec<serde_json::Value> = failures
            .iter()
            .map(|(role, error)| serde_json::json!({"role": role, "error": error}))
            .collect();
        let status = if failed.is_empty() { "ok" } else { "failing" };
        let body = serde_json::json!({"status": status, "backend": backend, "failures": failed});
        (failed.is_empty(), body.to_string())
    }
}
