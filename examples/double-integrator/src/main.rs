//! `mbtl-di`: the whole mbtl command line, with the double integrator registered first. Worker
//! processes and Slurm array tasks re-run this executable, so they know it too.

use std::process::ExitCode;

fn main() -> ExitCode {
    if let Err(e) = mbtl_example_double_integrator::register() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    mbtl_cli::main()
}
