// The migrations are embedded by `sqlx::migrate!`: a new or changed one must rebuild the
// server even when no Rust source changed.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
