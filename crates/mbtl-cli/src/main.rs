//! The `mbtl` binary: everything lives in the `mbtl_cli` library (so that crates with their own
//! environments can ship the same command line).

fn main() -> std::process::ExitCode {
    mbtl_cli::main()
}
