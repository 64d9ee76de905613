//! The threads that run analyses, off the async reactor: jobs go in through a channel, finished
//! analyses come back through another, and the processor collects them on its next
//! punctuation. Dropping the pool closes the job channel and joins the threads.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::job::{self, Done, Job, JobSettings};

pub(crate) struct Pool {
    jobs: Option<Sender<Job>>,
    done: Receiver<Done>,
    threads: Vec<JoinHandle<()>>,
    /// Set on drop: queued jobs are abandoned (a restart recomputes them).
    stop: Arc<AtomicBool>,
}

impl Pool {
    /// Starts `threads` analysis threads (at least one).
    pub(crate) fn new(threads: usize, settings: JobSettings) -> std::io::Result<Pool> {
        let (jobs, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done) = mpsc::channel();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let settings = Arc::new(settings);
        let stop = Arc::new(AtomicBool::new(false));
        let mut handles = Vec::new();
        for index in 0..threads.max(1) {
            let (job_rx, done_tx, settings, stop) = (Arc::clone(&job_rx), done_tx.clone(), Arc::clone(&settings), Arc::clone(&stop));
            let handle = std::thread::Builder::new()
                .name(format!("vane-analysis-{index}"))
                .spawn(move || work(&job_rx, &done_tx, &settings, &stop))?;
            handles.push(handle);
        }
        Ok(Pool {
            jobs: Some(jobs),
            done,
            threads: handles,
            stop,
        })
    }

    /// Queues one analysis; false when the threads are gone.
    pub(crate) fn submit(&self, job: Job) -> bool {
        self.jobs.as_ref().is_some_and(|jobs| jobs.send(job).is_ok())
    }

    /// The analyses finished since the last call.
    pub(crate) fn finished(&self) -> Vec<Done> {
        self.done.try_iter().collect()
    }
}

fn work(jobs: &Mutex<Receiver<Job>>, done: &Sender<Done>, settings: &JobSettings, stop: &AtomicBool) {
    let clock = Instant::now();
    let mut stopwatch = || clock.elapsed().as_secs_f64() * 1e3;
    loop {
        // Hold the lock only to take one job, never while analysing.
        let next = jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner).recv();
        let Ok(job) = next else { return };
        if stop.load(Ordering::Relaxed) {
            return;
        }
        if done.send(job::run(job, settings, &mut stopwatch)).is_err() {
            return;
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.jobs = None;
        for handle in self.threads.drain(..) {
            let _ = handle.join();
        }
    }
}
