//! The session thread's loop: one `epoll_wait` on the ring buffer, the signals, the watched
//! process and the entries; output drained as it comes, entries applied in order.

use scry_runtime::wait::Wake;

use crate::channel::{Input, Receiver};
use crate::engine::{Engine, Next};

/// The side that reads entries.
pub trait Front {
    /// An entry was handled: the prompt may come back.
    fn done(&mut self, engine: &Engine);
    /// Whether SIGINT only interrupts (a `.watch`, the line being typed) instead of ending
    /// the session.
    fn interactive(&self) -> bool;
    /// The session ends: stop reading (and leave the terminal as it was).
    fn stop(&mut self);
}

/// Serves entries until the input ends, `.quit`, SIGTERM (SIGINT too unless interactive),
/// `exit()` or the `-p`/`-c` process's exit; then stops the front and ends the session.
pub fn serve(mut engine: Engine, input: Receiver, front: &mut dyn Front) -> Result<(), String> {
    let served = serve_until_end(&mut engine, &input, front);
    front.stop();
    let finished = engine.finish();
    served.and(finished)
}

fn serve_until_end(
    engine: &mut Engine,
    input: &Receiver,
    front: &mut dyn Front,
) -> Result<(), String> {
    let waiter = engine.waiter()?;
    waiter
        .add_input(input.fd())
        .map_err(|e| format!("cannot wait for entries: {e}"))?;
    loop {
        let wakes = waiter
            .wait(engine.watch_timeout_ms())
            .map_err(|e| format!("cannot wait: {e}"))?;
        for wake in wakes {
            match wake {
                // Drained below, before any entry.
                Wake::Data => {}
                Wake::PrintMaps => engine.print_maps(None),
                Wake::Input => input.quiet(),
                Wake::Interrupt if engine.watching() => {
                    engine.stop_watch();
                    front.done(engine);
                }
                Wake::Interrupt if front.interactive() => {}
                // Finishing drains what is left.
                Wake::Interrupt | Wake::Stop | Wake::ProcessExited => return Ok(()),
            }
        }
        engine.watch_tick();
        loop {
            // What the probes wrote before an entry was typed comes first (and an `exit()`
            // among it ends the session before the entry).
            engine.drain()?;
            if engine.watching() || engine.exit_requested() {
                break;
            }
            match input.next() {
                None => break,
                Some(Input::End) => return Ok(()),
                Some(Input::Entry(text)) => {
                    if engine.handle(&text) == Next::End {
                        return Ok(());
                    }
                    if engine.watching() {
                        engine.watch_tick();
                    } else {
                        front.done(engine);
                    }
                }
            }
        }
        if engine.exit_requested() {
            return Ok(());
        }
    }
}
