// The bundled scenario catalogue and fixtures are compiled into the binary (include_dir);
// rebuild when they change.
fn main() {
    println!("cargo:rerun-if-changed=scenarios");
    println!("cargo:rerun-if-changed=fixtures");
}
