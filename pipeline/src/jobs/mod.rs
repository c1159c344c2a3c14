//! Jobs: the database row is the truth, the queue only delivers.
//!
//! A job is created together with an outbox row in one transaction; the [`relay`](crate::relay) publishes
//! outbox rows and deletes each only once the queue confirmed it. A worker *claims* a delivered job, which
//! starts a new attempt and gives the worker a lease it renews while it works. Every later write of that
//! worker names the attempt and the worker, so a worker that lost its lease (a zombie) changes nothing: it is
//! fenced out. A lease that runs out is reaped: the attempt counts as failed and the job is queued again,
//! after a backoff, until it has used its attempts; then it is `dead`, kept with its reason, and can be
//! replayed.
//!
//! The tables live in the shared database (`lms-db`), whose migrations make them; the same queries run on
//! SQLite (the embedded default) and PostgreSQL. Worker-side changes run in system-scoped transactions; a
//! tenant's reads and writes (create, get, replay) in that tenant's.

mod record;
mod store;

pub use record::{JobRecord, JobState, NewJob};
pub use store::{Claim, Failure, FailureOutcome, JobStore, OutboxMessage, RetryPolicy};
