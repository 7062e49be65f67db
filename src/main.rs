//! The `audiobook` binary: everything lives in the library; see `audiobook::cli`.

fn main() -> std::process::ExitCode {
    // ONNX Runtime 1.29 and later keep a device id and a telemetry cache under
    // ~/.cache/Microsoft and may upload events, unless this is set before it starts; the
    // environment flag is its only full opt-out on Linux and macOS. A user's own value wins.
    if std::env::var_os("ORT_DISABLE_TELEMETRY").is_none() {
        // SAFETY: the first statement of main, before any thread exists to read the environment.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var("ORT_DISABLE_TELEMETRY", "1");
        }
    }
    audiobook::cli::main()
}
