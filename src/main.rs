//! `qharness`: the command-line front end. Parses arguments and calls the library.

fn main() {
    println!("qharness: under construction");
}
