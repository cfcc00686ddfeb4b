//! Progress on the terminal: a bar when standard error is a terminal, a line per stage otherwise.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

/// Shows the stages of long work on standard error.
pub struct CliProgress {
    state: Mutex<Option<(String, Instant, ProgressBar)>>,
    terminal: bool,
}

impl CliProgress {
    pub fn new() -> CliProgress {
        CliProgress { state: Mutex::new(None), terminal: std::io::stderr().is_terminal() }
    }
}

impl tamsa_model::Progress for CliProgress {
    fn start(&self, stage: &str, total: u64) {
        let bar = if !self.terminal {
            ProgressBar::hidden()
        } else if total > 0 {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg:>20} [{bar:30}] {percent:>3}% {human_pos}/{human_len} eta {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar
        } else {
            ProgressBar::new_spinner()
        };
        bar.set_message(stage.to_owned());
        *self.state.lock().expect("progress lock") = Some((stage.to_owned(), Instant::now(), bar));
    }

    fn advance(&self, n: u64) {
        if let Some((_, _, bar)) = &*self.state.lock().expect("progress lock") {
            bar.inc(n);
        }
    }

    fn finish(&self) {
        if let Some((stage, started, bar)) = self.state.lock().expect("progress lock").take() {
            bar.finish_and_clear();
            eprintln!("{stage}: done in {:.1} s", started.elapsed().as_secs_f64());
        }
    }
}
