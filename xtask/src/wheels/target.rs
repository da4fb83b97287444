//! One target, as a straight line: source > built > repaired > fixed > checked > tested >
//! landed. Each step is timed and its failure named; the first error stops this target only.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

use super::steps::{self, Checked, Ctx, Landed, Served};
use super::summary::{Outcome, Step, TargetResult};
use crate::library::wheel;
use crate::processes::log::Log;

/// A running target: its log and the result being filled in.
struct Run<'a> {
    log: Log,
    result: &'a mut TargetResult,
    /// The wheel that landed, when it did.
    landed: Option<Landed>,
}

impl Run<'_> {
    /// Runs one step, timed, into the target's log; a failure names the step.
    fn step<T>(&mut self, step: Step, f: impl FnOnce(&mut Log) -> Result<T>) -> Result<T> {
        eprintln!("[{}] {}", self.result.target, step.name());
        let t = Instant::now();
        let value = f(&mut self.log).with_context(|| format!("{}: {} failed", self.result.target, step.name()));
        self.result.steps.push((step, t.elapsed().as_secs_f64()));
        if value.is_err() {
            self.result.result = Outcome::Failed(step);
        }
        value
    }

    /// The whole line.
    fn all(&mut self, ctx: &Ctx, out_dir: &Path) -> Result<Landed> {
        steps::clear_outputs(ctx);
        let source = self.step(Step::Prepare, |log| steps::prepare(ctx, log))?;
        let built = self.step(Step::Build, |log| steps::build_wheel(ctx, log, &source));
        self.result.cache = crate::processes::compile_cache::stats_of(&ctx.stats_log());
        let built = built?;
        let repaired = self.step(Step::Graft, |log| steps::graft(ctx, log, built))?;
        let fixed = self.step(Step::Repair, |log| steps::repair(ctx, log, repaired))?;
        let checked = self.step(Step::Check, |log| steps::check(ctx, log, fixed))?;
        let tested = self.step(Step::Test, |log| steps::test_wheel(ctx, log, checked))?;
        self.result.result = Outcome::Failed(Step::Land);
        let landed = steps::land(tested, out_dir)?;
        self.result.result = Outcome::Passed;
        Ok(landed)
    }

    /// Another target's abi3 wheel, tested here: the build venv (whose pip installs it), then
    /// the tests; nothing is built and nothing lands again.
    fn reuse(&mut self, ctx: &Ctx, served: &Served) -> Result<()> {
        let _ = std::fs::remove_dir_all(&ctx.work);
        self.step(Step::Prepare, |log| steps::prepare_venv(ctx, log, served))?;
        let checked = Checked { wheel: served.wheel.clone(), tag: served.tag.clone() };
        self.step(Step::Test, |log| steps::test_wheel(ctx, log, checked))?;
        Ok(())
    }
}

/// Runs a target an earlier target's abi3 wheel serves, and returns its row: the same wheel
/// (same sha256) under this interpreter.
pub fn run_reused(ctx: &Ctx, mut result: TargetResult, served: &Served) -> TargetResult {
    let start = Instant::now();
    let log = match Log::create(&result.log, &result.target) {
        Ok(l) => l,
        Err(e) => {
            result.result = Outcome::Setup;
            result.error = Some(format!("{e:#}"));
            return result;
        }
    };
    eprintln!("[{}] the abi3 wheel of {} serves this interpreter: testing it", result.target, served.built_by);
    let mut run = Run { log, result: &mut result, landed: None };
    match run.reuse(ctx, served) {
        Ok(()) => {
            run.result.wheel = Some(served.landed.clone());
            run.result.size = Some(served.size);
            run.result.tag = Some(served.tag.clone());
            run.result.sha256 = Some(served.sha256.clone());
            run.result.built_by = Some(served.built_by.clone());
        }
        Err(e) => {
            run.log.note(&format!("error: {e:#}"));
            eprintln!("[{}] FAILED: {e:#}", run.result.target);
            run.result.error = Some(format!("{e:#}"));
        }
    }
    result.seconds = start.elapsed().as_secs_f64();
    result
}

/// Runs every step of one target and returns its row of the summary, and the wheel that
/// landed (which may serve later interpreters when it is abi3).
pub fn run_target(ctx: &Ctx, mut result: TargetResult, out_dir: &Path) -> (TargetResult, Option<Landed>) {
    let start = Instant::now();
    let reads = wheel::full_reads();
    let log = match Log::create(&result.log, &result.target) {
        Ok(l) => l,
        Err(e) => {
            result.result = Outcome::Setup;
            result.error = Some(format!("{e:#}"));
            return (result, None);
        }
    };
    let mut run = Run { log, result: &mut result, landed: None };
    match run.all(ctx, out_dir) {
        Ok(landed) => {
            run.result.size = Some(landed.size);
            run.result.sha256 = Some(landed.sha256.clone());
            run.result.tag = Some(landed.tag.clone());
            run.result.wheel = Some(landed.wheel.clone());
            run.landed = Some(landed);
        }
        Err(e) => {
            run.log.note(&format!("error: {e:#}"));
            eprintln!("[{}] FAILED: {e:#}", run.result.target);
            run.result.error = Some(format!("{e:#}"));
        }
    }
    let landed = run.landed.take();
    result.wheel_reads = wheel::full_reads() - reads;
    result.seconds = start.elapsed().as_secs_f64();
    (result, landed)
}
