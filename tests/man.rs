//! The man pages in man/ are generated from the command line; this test fails when they are stale.
//! Regenerate them with `UPDATE_MAN=1 cargo test --test man`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use audiobook::cli::args::Cli;
use clap::CommandFactory;

fn render(command: &clap::Command) -> Vec<u8> {
    let mut out = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut out).unwrap();
    out
}

/// A page for every subcommand, nested ones (`lexicon scan`) included.
fn add_pages(parent: &str, command: &clap::Command, pages: &mut Vec<(String, Vec<u8>)>) {
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        let name: &'static str = format!("{parent}-{}", sub.get_name()).leak();
        pages.push((format!("{name}.1"), render(&sub.clone().name(name).bin_name(name.replace("-", " ")))));
        add_pages(name, sub, pages);
    }
}

#[test]
fn man_pages_are_up_to_date() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let mut command = Cli::command();
    command.build();
    let mut pages = vec![("audiobook.1".to_string(), render(&command))];
    add_pages("audiobook", &command, &mut pages);
    let update = std::env::var_os("UPDATE_MAN").is_some();
    for (file, page) in pages {
        let path = dir.join(&file);
        if update {
            std::fs::write(&path, &page).unwrap();
        } else {
            let current = std::fs::read(&path).unwrap_or_default();
            assert!(current == page, "man/{file} is stale: run `UPDATE_MAN=1 cargo test --test man`");
        }
    }
}
