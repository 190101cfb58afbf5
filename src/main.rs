fn main() {
    let src = std::env::args().nth(1).unwrap_or_default();
    let (p, d) = scry_lang::parse(&src);
    println!("{:#?}\n{:#?}", p, d);
}
