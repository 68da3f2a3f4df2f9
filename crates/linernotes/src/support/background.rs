//! Background work (stale-entity refreshes, mail deliveries) that shutdown and tests can wait for.

use std::future::Future;

use tokio::sync::watch;

/// Counts running background tasks; [`BackgroundTasks::idle`] waits until none runs.
#[derive(Debug, Clone)]
pub struct BackgroundTasks {
    running: watch::Sender<usize>,
    /// The gauge counting them.
    gauge: &'static str,
}

/// Decrements the count when a task ends, however it ends.
struct RunningGuard(BackgroundTasks);

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.0.running.send_modify(|n| *n = n.saturating_sub(1));
        self.0.publish();
    }
}

impl BackgroundTasks {
    /// No tasks yet; their number is published as the gauge named `gauge`.
    pub fn new(gauge: &'static str) -> Self {
        Self {
            running: watch::channel(0).0,
            gauge,
        }
    }

    fn publish(&self) {
        metrics::gauge!(self.gauge).set(*self.running.borrow() as f64);
    }

    /// Spawns `task` on the runtime and counts it while it runs.
    pub fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.running.send_modify(|n| *n += 1);
        self.publish();
        let guard = RunningGuard(self.clone());
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
