//! The one pool for round trips: on a network volume a whole-course or whole-volume pass is
//! bound by latency, not CPU, so a few threads each waiting on its own `stat`, listing or
//! read divide its time. The collect/list/feedback/deadline readers (through
//! `ops::inbound`) and the notary map their work through [`map`].
//!
//! Hand-written (scoped threads and one shared counter) rather than rayon: the threads
//! mostly wait on the volume, so the caller chooses how many requests are in flight
//! (rayon's pool is sized to the CPUs and shared process-wide), and the wheel stays lean.

use std::sync::atomic::{AtomicUsize, Ordering};

/// `items.iter().map(f)` on up to `workers` threads, results in the order of `items`.
/// Each thread takes the next unclaimed item, so one slow item holds up one thread only.
/// A panic in `f` is resumed in the caller.
pub fn map<T: Sync, R: Send>(items: &[T], workers: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = workers.clamp(1, items.len().max(1));
    if workers == 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return done;
            };
            done.push((i, f(item)));
        }
    };
    let mut slots: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..workers).map(|_| scope.spawn(work)).collect();
        for thread in threads {
            let done = thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            for (i, r) in done {
                slots[i] = Some(r);
            }
        }
    });
    slots
        .into_iter()
        .map(|r| r.expect("every item was taken by a worker"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order_on_any_number_of_threads() {
        let items: Vec<usize> = (0..100).collect();
        for workers in [0, 1, 3, 16, 200] {
            assert_eq!(
                super::map(&items, workers, |x| x * 2),
                (0..100).map(|x| x * 2).collect::<Vec<_>>()
            );
        }
        assert_eq!(super::map(&[7], 8, |x| x + 1), [8]);
        assert!(super::map(&[] as &[u8], 8, |x| *x).is_empty());
    }

    #[test]
    fn a_panic_reaches_the_caller() {
        let items: Vec<u32> = (0..10).collect();
        let caught = std::panic::catch_unwind(|| {
            super::map(&items, 4, |x| assert_ne!(*x, 7, "seven"));
        });
        assert!(caught.is_err());
    }
}
