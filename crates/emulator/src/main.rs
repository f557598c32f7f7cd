fn main() {
    println!("listening on http://127.0.0.1:0");
}
