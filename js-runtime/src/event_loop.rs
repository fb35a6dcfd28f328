//! Running queued Promise jobs to completion.

use rquickjs::Runtime;

/// A job threw and nothing caught it. The exception is still pending in the
/// context the job ran in; `ctx.catch()` retrieves it.
pub(crate) struct JobError(pub(crate) rquickjs::Context);

impl std::fmt::Debug for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JobError(..)")
    }
}

/// Runs pending jobs (Promise reactions, `queueMicrotask` callbacks) until the
/// queue is empty, or until `stop()` says to (checked before each job).
///
/// Must be called outside `Context::with`, which holds the runtime's lock.
///
/// # Errors
///
/// Stops at the first job that throws and returns its context.
pub(crate) fn run_jobs(rt: &Runtime, stop: impl Fn() -> bool) -> Result<(), JobError> {
    loop {
        if stop() {
            return Ok(());
        }
        match rt.execute_pending_job() {
            Ok(true) => continue,
            Ok(false) => return Ok(()),
            Err(e) => return Err(JobError(e.0)),
        }
    }
}

use rquickjs::{Ctx, Persistent, Value};
use std::cell::RefCell;
use std::rc::Rc;

/// Promise rejections that no handler has claimed yet.
///
/// A module that ends with one of these has failed: like Node, it reports
/// the reason and exits with status 1.
#[derive(Default)]
pub struct UnhandledRejections {
    pending: RefCell<Vec<(Persistent<Value<'static>>, Persistent<Value<'static>>)>>,
}

impl UnhandledRejections {
    /// Starts tracking rejections in every context of `rt`.
    pub fn track(rt: &Runtime) -> Rc<Self> {
        let rejections = Rc::new(UnhandledRejections::default());
        let tracker = rejections.clone();
        rt.set_host_promise_rejection_tracker(Some(Box::new(move |ctx, promise, reason, is_handled| {
            let mut pending = tracker.pending.borrow_mut();
            if is_handled {
                pending.retain(|(p, _)| p.clone().restore(&ctx).map(|p| p != promise).unwrap_or(true));
            } else {
                pending.push((Persistent::save(&ctx, promise), Persistent::save(&ctx, reason)));
            }
        })));
        rejections
    }

    /// Removes and returns the reason of the oldest unhandled rejection.
    pub fn take_first<'js>(&self, ctx: &Ctx<'js>) -> Option<Value<'js>> {
        let mut pending = self.pending.borrow_mut();
        if pending.is_empty() {
            return None;
        }
        let (_, reason) = pending.remove(0);
        pending.clear();
        reason.restore(ctx).ok()
    }
}
