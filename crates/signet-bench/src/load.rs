//! The closed-loop load generator: N workers, each with its own connection and one request in
//! flight, for a fixed time after a warm-up; latencies are kept whole and sorted at the end.

use std::time::{Duration, Instant};

use reqwest::{Client, RequestBuilder, StatusCode};

/// How to load.
pub struct Settings {
    pub connections: usize,
    pub duration: Duration,
    pub warmup: Duration,
}

/// What one run measured.
pub struct Report {
    connections: usize,
    elapsed: Duration,
    /// Latencies of the successful requests, in microseconds, sorted.
    latencies: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

#[derive(Default)]
struct WorkerResult {
    latencies: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

/// Runs `request(client, worker, n)` in a loop on every worker; a response counts as a success
/// when its status is the one returned beside the request and its body was read whole.
pub async fn run<F>(settings: &Settings, request: F) -> anyhow::Result<Report>
where
    F: Fn(&Client, usize, u64) -> (RequestBuilder, StatusCode) + Send + Sync + Clone + 'static,
{
    let start = Instant::now();
    let measure_from = start + settings.warmup;
    let until = measure_from + settings.duration;
    let mut workers = Vec::with_capacity(settings.connections);
    for worker in 0..settings.connections {
        let client = crate::client()?;
        let request = request.clone();
        workers.push(tokio::spawn(async move {
            let mut result = WorkerResult::default();
            let mut n = 0u64;
            loop {
                let sent = Instant::now();
                if sent >= until {
                    break;
                }
                let (builder, expected) = request(&client, worker, n);
                n += 1;
                let outcome = match builder.send().await {
                    Ok(response) => {
                        let status = response.status();
                        match response.bytes().await {
                            Ok(_) if status == expected => Ok(()),
                            Ok(body) => Err(format!(
                                "{status}: {}",
                                String::from_utf8_lossy(&body[..body.len().min(200)])
                            )),
                            Err(e) => Err(format!("reading the body: {e}")),
                        }
                    }
                    Err(e) => Err(format!("{e}")),
                };
                let done = Instant::now();
                // Only requests sent inside the measured window count.
                if sent < measure_from || done > until {
                    continue;
                }
                match outcome {
                    Ok(()) => result
                        .latencies
                        .push(u32::try_from((done - sent).as_micros()).unwrap_or(u32::MAX)),
                    Err(message) => {
                        result.errors += 1;
                        result.first_error.get_or_insert(message);
                    }
                }
            }
            result
        }));
    }
    let mut report = Report {
        connections: settings.connections,
        elapsed: settings.duration,
        latencies: Vec::new(),
        errors: 0,
        first_error: None,
    };
    for worker in workers {
        let result = worker.await?;
        report.latencies.extend(result.latencies);
        report.errors += result.errors;
        if report.first_error.is_none() {
            report.first_error = result.first_error;
        }
    }
    report.latencies.sort_unstable();
    Ok(report)
}

impl Report {
    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        let index = rank.clamp(1, self.latencies.len()) - 1;
        f64::from(self.latencies[index]) / 1000.0
    }

    /// Prints a human summary and one `key=value` line for scripts.
    pub fn print(&self, name: &str) {
        let ok = self.latencies.len();
        let rps = ok as f64 / self.elapsed.as_secs_f64();
        let mean = if ok == 0 {
            f64::NAN
        } else {
            self.latencies.iter().map(|&l| f64::from(l)).sum::<f64>() / ok as f64 / 1000.0
        };
        let (p50, p99, max) = (
            self.percentile_ms(50.0),
            self.percentile_ms(99.0),
            self.percentile_ms(100.0),
        );
        println!(
            "{name}: {ok} ok, {} errors in {:.1}s at {} connections",
            self.errors,
            self.elapsed.as_secs_f64(),
            self.connections
        );
        println!(
            "  {rps:.0} requests/s, latency mean {mean:.2} ms, p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms"
        );
        if let Some(error) = &self.first_error {
            println!("  first error: {error}");
        }
        println!(
            "RESULT name={name} rps={rps:.1} mean_ms={mean:.3} p50_ms={p50:.3} p99_ms={p99:.3} max_ms={max:.3} ok={ok} errors={}",
            self.errors
        );
    }
}
