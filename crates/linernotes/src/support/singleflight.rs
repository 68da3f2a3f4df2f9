//! Single flight: concurrent callers asking for the same key share one execution of the work.
//!
//! The first caller for a key runs the work; callers arriving while it runs wait for and receive a
//! clone of its result. If the running caller is cancelled, a waiting caller takes the work over.
//! Once the work has finished the key is forgotten, so the next caller starts afresh.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

/// Shares in-flight work per key.
#[derive(Debug)]
pub struct SingleFlight<K, V> {
    calls: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
}

impl<K, V> Default for SingleFlight<K, V> {
    fn default() -> Self {
        Self {
            calls: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash + Clone, V: Clone> SingleFlight<K, V> {
    /// Runs `work` for `key` unless it is already running, in which case waits for that run's result.
    pub async fn run<F, Fut>(&self, key: K, work: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let cell = {
            let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
            calls.entry(key.clone()).or_default().clone()
        };
        let value = cell.get_or_init(work).await.clone();
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        if calls
            .get(&key)
            .is_some_and(|current| Arc::ptr_eq(current, &cell))
        {
            calls.remove(&key);
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_callers_share_one_run() {
        let flight = Arc::new(SingleFlight::<u32, u32>::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(tokio::sync::Notify::new());
        let mut handles = Vec::new();
        for _ in 0..10 {
            let (flight, runs, gate) = (flight.clone(), runs.clone(), gate.clone());
            handles.push(tokio::spawn(async move {
                flight
                    .run(1, || async {
                        runs.fetch_add(1, Ordering::SeqCst);
                        gate.notified().await;
                        7
                    })
                    .await
            }));
        }
        // On this single-threaded test runtime, yielding lets every task reach the flight before the
        // one running the work is released.
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        gate.notify_one();
        for handle in handles {
            assert_eq!(handle.await.unwrap(), 7);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(flight.calls.lock().unwrap().is_empty());
    }
}
