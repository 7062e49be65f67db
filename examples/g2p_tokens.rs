//! Prints the G2P's tokens for a text: `cargo run --release --example g2p_tokens -- "text"`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let text = std::env::args().nth(1).unwrap_or_default();
    let g2p = audiobook::phonemize::Phonemizer::new(loqui_g2p::Dialect::British)?;
    for word in g2p.words(&text)? {
        println!("{:?} -> {:?} space={}", word.text, word.phonemes, word.space_after);
    }
    Ok(())
}
