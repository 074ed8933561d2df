//! The one retry policy for requests that may succeed when sent again: how many tries, how long
//! to pause between them (exponential, with jitter so that many clients do not come back in the
//! same instant), and a server's `Retry-After` honoured when it asks for a pause we can wait.
//! Whether a failure is worth another try is the caller's to say, through [`Retryable`].

use std::future::Future;
use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// What a failed try says about the next one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Another try cannot help, or could act twice.
    Final,
    /// Another try may succeed, after the policy's next pause.
    Again,
    /// The server said when to come back (`Retry-After`).
    After(Duration),
}

/// A failure the policy can judge.
pub trait Retryable {
    fn verdict(&self) -> Verdict;
}

/// Tries of one request and the pauses between them.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    tries: usize,
    first_pause: Duration,
    longest_pause: Duration,
}

/// The longest `Retry-After` waited for within one call; a server that asks for longer gets
/// its failure reported (the failure says when to come back).
pub const LONGEST_ASKED_PAUSE: Duration = Duration::from_secs(30);

impl RetryPolicy {
    /// A request to a provider's API or an upload to storage: 4 tries within about 2 s.
    pub const REQUEST: Self = Self {
        tries: 4,
        first_pause: Duration::from_millis(250),
        longest_pause: Duration::from_secs(4),
    };
    /// A file download: each try resumes where the last one stopped, so a flaky body gets more.
    pub const DOWNLOAD: Self = Self {
        tries: 5,
        first_pause: Duration::from_millis(250),
        longest_pause: Duration::from_secs(4),
    };

    /// How many times a request is sent at most, the first time included.
    pub const fn tries(&self) -> usize {
        self.tries
    }

    /// The pauses of one call, for a caller that runs its own tries (see [`Self::run`]).
    pub fn schedule(&self) -> Schedule {
        Schedule {
            pauses: ExponentialBuilder::default()
                .with_min_delay(self.first_pause)
                .with_max_delay(self.longest_pause)
                .with_max_times(self.tries.saturating_sub(1))
                .with_jitter()
                .build(),
        }
    }

    /// Runs `try_once` until it succeeds, fails for good, or the tries are used up; the last
    /// failure is returned as it is.
    pub async fn run<T, E, Fut>(&self, mut try_once: impl FnMut() -> Fut) -> Result<T, E>
    where
        E: Retryable,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut schedule = self.schedule();
        loop {
            match try_once().await {
                Ok(value) => return Ok(value),
                Err(failure) => match schedule.pause_after(&failure) {
                    Some(pause) => tokio::time::sleep(pause).await,
                    None => return Err(failure),
                },
            }
        }
    }
}

/// The pauses left to one call.
pub struct Schedule {
    pauses: backon::ExponentialBackoff,
}

impl Schedule {
    /// How long to pause before trying again after `failure`; `None` when it is not tried again.
    /// The pauses double from the policy's first one up to its longest, each with up to as much
    /// again of random jitter; a `Retry-After` is waited for when it is not too long.
    pub fn pause_after(&mut self, failure: &impl Retryable) -> Option<Duration> {
        match (failure.verdict(), self.pauses.next()) {
            (Verdict::Final, _) | (_, None) => None,
            (Verdict::After(asked), _) if asked > LONGEST_ASKED_PAUSE => None,
            (Verdict::After(asked), Some(pause)) => Some(asked.max(pause)),
            (Verdict::Again, Some(pause)) => Some(pause),
        }
    }
}

/// The pause an answer's `Retry-After` asks for: a number of seconds, or an HTTP date
/// (RFC 9110 §10.2.3); a date in the past asks for none.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    retry_after_at(headers, SystemTime::now())
}

fn retry_after_at(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use tokio::time::Instant;

    struct Failure(Verdict);

    impl Retryable for Failure {
        fn verdict(&self) -> Verdict {
            self.0
        }
    }

    /// Runs the policy over failures with `verdict` until `succeed_on`; tries and time taken.
    async fn tries_until(
        verdict: Verdict,
        succeed_on: usize,
    ) -> (Result<(), Failure>, usize, Duration) {
        let tries = Cell::new(0);
        let started = Instant::now();
        let outcome = RetryPolicy::REQUEST
            .run(|| async {
                tries.set(tries.get() + 1);
                if tries.get() == succeed_on {
                    Ok(())
                } else {
                    Err(Failure(verdict))
                }
            })
            .await;
        (outcome, tries.get(), started.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn a_passing_failure_is_tried_again_with_growing_jittered_pauses() {
        let (outcome, tries, waited) = tries_until(Verdict::Again, 4).await;
        assert!(outcome.is_ok());
        assert_eq!(tries, 4);
        // 250 + 500 + 1000 ms, each with up to as much again of jitter.
        assert!(waited >= Duration::from_millis(1750), "{waited:?}");
        assert!(waited <= Duration::from_millis(3500), "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_last_failure_is_returned_when_the_tries_are_used_up() {
        let (outcome, tries, _) = tries_until(Verdict::Again, usize::MAX).await;
        assert!(matches!(outcome, Err(Failure(Verdict::Again))));
        assert_eq!(tries, RetryPolicy::REQUEST.tries());
    }

    #[tokio::test(start_paused = true)]
    async fn a_final_failure_is_not_tried_again() {
        let (outcome, tries, waited) = tries_until(Verdict::Final, usize::MAX).await;
        assert!(outcome.is_err());
        assert_eq!((tries, waited), (1, Duration::ZERO));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_waited_for_up_to_the_longest_asked_pause() {
        let (outcome, tries, waited) = tries_until(Verdict::After(Duration::from_secs(7)), 2).await;
        assert!(outcome.is_ok());
        assert_eq!(tries, 2);
        assert!(waited >= Duration::from_secs(7), "{waited:?}");
        assert!(waited < Duration::from_secs(8), "{waited:?}");

        let too_long = Verdict::After(LONGEST_ASKED_PAUSE + Duration::from_secs(1));
        let (outcome, tries, waited) = tries_until(too_long, usize::MAX).await;
        assert!(outcome.is_err());
        assert_eq!((tries, waited), (1, Duration::ZERO));
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_as_an_http_date() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, value.parse().unwrap());
            retry_after_at(&headers, now)
        };
        assert_eq!(with("120"), Some(Duration::from_secs(120)));
        assert_eq!(with(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(
            with("Sun, 06 Nov 1994 08:50:07 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(with("Sun, 06 Nov 1994 08:00:00 GMT"), Some(Duration::ZERO));
        assert_eq!(with("-5"), None);
        assert_eq!(with("soon"), None);
        assert_eq!(retry_after_at(&HeaderMap::new(), now), None);
    }
}
