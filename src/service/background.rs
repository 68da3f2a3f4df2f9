//! Background work (stale-entity refreshes) that shutdown and tests can wait for.

use std::future::Future;

use tokio::sync::watch;

/// Counts running background tasks; [`BackgroundTasks::idle`] waits until none runs.
#[derive(Debug, Clone)]
pub struct BackgroundTasks {
    running: watch::Sender<usize>,
}

impl Default for BackgroundTasks {
    fn default() -> Self {
        Self {
            running: watch::channel(0).0,
        }
    }
}

/// Decrements the count when a task ends, however it ends.
struct RunningGuard(watch::Sender<usize>);

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
        metrics::gauge!("linernotes_background_refreshes").set(*self.0.borrow() as f64);
    }
}

impl BackgroundTasks {
    /// Spawns `task` on the runtime and counts it while it runs.
    pub fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.running.send_modify(|n| *n += 1);
        metrics::gauge!("linernotes_background_refreshes").set(*self.running.borrow() as f64);
        let guard = RunningGuard(self.running.clone());
        tokio::spawn(async move {
            let _guard = guard;
            task.await;
        });
    }

    /// How many tasks are running.
    pub fn running(&self) -> usize {
        *self.running.borrow()
    }

    /// Waits until no background task is running.
    pub async fn idle(&self) {
        let mut receiver = self.running.subscribe();
        // The sender lives in self, so the channel cannot close while we wait.
        let _ = receiver.wait_for(|n| *n == 0).await;
    }
}
