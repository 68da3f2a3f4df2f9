//! `sqlx::migrate!` embeds `migrations/` at compile time but does not notice a new file by itself: this
//! makes any change there rebuild the crate.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
