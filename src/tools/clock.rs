//! Local wall-clock time as the tools print it.

/// The local time now as `HH:MM:SS`.
pub fn hms() -> String {
    scry_runtime::records::strftime_now("%H:%M:%S")
}
