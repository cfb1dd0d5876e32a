//! Replays requested from outside the process. `eventschema dlq replay` cannot reach a
//! service's in-process bus, so it records a request in the shared store; this worker,
//! running inside the service, takes requests for the letters it may replay and calls
//! [`Bus::replay`] (same event id and idempotency key), then records the outcome.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{DeadLetterStore, DlqFilter};
use crate::bus::{Bus, PublishOutcome, ReplayError};
use crate::error::{PublishError, StoreError};

/// How a [`ReplayWorker`] polls.
#[derive(Debug, Clone)]
pub struct ReplayWorkerConfig {
    /// Time between polls of the store.
    pub interval: Duration,
    /// Only requests whose dead letter matches. Services sharing one table should each
    /// set their consumer group(s) here: a letter replays into its own group, so a worker
    /// in a process without that group could only record a failure.
    pub filter: DlqFilter,
    /// Requests taken per poll.
    pub batch: usize,
    /// How long a taken request is protected from other workers; after it, a request
    /// whose worker died is taken again.
    pub lease: Duration,
}

impl Default for ReplayWorkerConfig {
    fn default() -> Self {
        ReplayWorkerConfig {
            interval: Duration::from_secs(1),
            filter: DlqFilter::default(),
            batch: 100,
            lease: Duration::from_secs(60),
        }
    }
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Letter ids re-published (and removed from the queue).
    pub replayed: Vec<String>,
    /// Letter ids whose replay failed, with the reason recorded in the store.
    pub failed: Vec<(String, String)>,
}

/// A background task that carries out recorded replay requests through a [`Bus`], using
/// the bus's own dead-letter store (the one [`Bus::replay`] reads and removes from).
/// Dropping the handle stops it too, after the poll under way.
#[derive(Debug)]
pub struct ReplayWorker {
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl ReplayWorker {
    /// Polls every `interval` for requests on any dead letter.
    pub fn spawn(bus: Bus, interval: Duration) -> Self {
        Self::spawn_with(
            bus,
            ReplayWorkerConfig {
                interval,
                ..ReplayWorkerConfig::default()
            },
        )
    }

    pub fn spawn_with(bus: Bus, config: ReplayWorkerConfig) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let handle = tokio::spawn(async move {
            loop {
                match Self::run_once(&bus, &config).await {
                    Ok(report) if !report.replayed.is_empty() || !report.failed.is_empty() => {
                        tracing::info!(
                            replayed = report.replayed.len(),
                            failed = report.failed.len(),
                            "dead-letter replay requests handled"
                        );
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "polling replay requests failed"),
                }
                tokio::select! {
                    _ = stopped.changed() => return,
                    () = tokio::time::sleep(config.interval) => {}
                }
            }
        });
        ReplayWorker { stop, handle }
    }

    /// One poll: takes up to `config.batch` requests and replays them in request order.
    pub async fn run_once(
        bus: &Bus,
        config: &ReplayWorkerConfig,
    ) -> Result<ReplayReport, StoreError> {
        let store: &Arc<dyn DeadLetterStore> = bus.dead_letters();
        let requests = store
            .claim_replays(&config.filter, config.batch, config.lease)
            .await?;
        let mut report = ReplayReport::default();
        for request in requests {
            let id = request.letter_id;
            let outcome = match bus.replay(&id).await {
                Ok(PublishOutcome::Enqueued(n)) if n > 0 => Ok(()),
                Ok(PublishOutcome::Enqueued(_)) => {
                    Err("no consumer group of this process subscribes to it".to_owned())
                }
                Ok(PublishOutcome::DeadLettered(invalid)) => Err(format!(
                    "refused again ({}: {}); dead-lettered anew",
                    invalid.reason.as_str(),
                    invalid.detail
                )),
                // Shutting down: leave the request to the lease, another worker takes it.
                Err(ReplayError::Publish(PublishError::Closed)) => break,
                Err(error) => Err(error.to_string()),
            };
            store.finish_replay(&id, outcome.clone()).await?;
            match outcome {
                Ok(()) => report.replayed.push(id),
                Err(reason) => {
                    tracing::warn!(letter = %id, %reason, "dead-letter replay failed");
                    report.failed.push((id, reason));
                }
            }
        }
        Ok(report)
    }

    /// Stops polling after the current poll.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.handle.await;
    }
}
