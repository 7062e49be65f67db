//! The `audiobook` binary: everything lives in the library; see `audiobook::cli`.

fn main() -> std::process::ExitCode {
    audiobook::cli::main()
}
