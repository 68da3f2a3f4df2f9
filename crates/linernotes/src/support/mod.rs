//! Support: small pieces every layer may use, depending on nothing else of linernotes.
//!
//! - [`clock`]: the time source, controllable in tests;
//! - [`singleflight`]: sharing one in-flight piece of work among concurrent callers;
//! - [`background`]: background work that shutdown and tests can wait for;
//! - [`redis`]: the shared Redis connection (hot cache tier, shared provider budgets), which never
//!   fails a request;
//! - [`metrics`]: the process-wide Prometheus recorder and its exposition;
//! - [`net`]: accepting connections within limits, for both transports.

pub mod background;
pub mod clock;
pub mod metrics;
pub mod net;
pub mod redis;
pub mod singleflight;

pub use background::BackgroundTasks;
pub use clock::{Clock, ManualClock, SystemClock};
pub use singleflight::SingleFlight;
