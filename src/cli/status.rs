//! `audiobook status --store`: reads and plans the book as its shards did, then says, per shard,
//! how many of its chunks are in the store (with `--json`, one JSON object on stdout).

use std::process::ExitCode;

use super::args::{BuildArgs, ModelArgs};
use super::printer::Printer;
use super::settings;
use crate::error::{Error, ExitStatus, Result};
use crate::job::JobError;
use crate::job::shard::ShardError;
use crate::kokoro::assets;
use crate::narrate::{self, ReadBook, Settings};

pub fn run(args: &BuildArgs, models: &ModelArgs, printer: &Printer) -> Result<ExitCode> {
    let Some(spec) = args.share.store.as_deref() else {
        return Err(JobError::Shard(ShardError::NeedsStore("status")).into());
    };
    let settings = settings::build_settings(args, models.device)?;
    let settings =
        Settings { lexicon: narrate::load_lexicon(args.voice.lexicon.as_deref(), &args.inputs)?, ..settings };
    let ReadBook { book, language, .. } = narrate::read(&args.inputs, &settings)?;
    let settings =
        Settings { japanese_dictionary: super::models::japanese_dictionary(language, models, printer)?, ..settings };
    let plan = narrate::plan(&book, &settings)?;
    // The engine only for the model's hash (part of every chunk key): no session is built.
    let files = assets::ensure(&settings::asset_overrides(models), printer)?;
    let engine = narrate::start_engine(&files, &Settings { sessions: 1, ..settings.clone() })?;
    let status = narrate::store_status(spec, &plan, &engine, &settings)?;

    if printer.json {
        let json = serde_json::to_string(&status).map_err(Error::json("status"))?;
        printer.data(&json).map_err(Error::io("<stdout>"))?;
    } else {
        let mut lines = vec![format!("{}: {} of {} chunks stored", status.store, status.chunks_stored, status.chunks)];
        if status.shards.is_empty() {
            lines.push("  no shard of this book has run with this store (or its settings differ)".into());
        }
        for shard in &status.shards {
            let state = if shard.chunks_stored == shard.chunks { "done" } else { "missing some" };
            lines.push(format!(
                "  shard {}: {} of {} chunks ({} tokens) {state}",
                shard.shard, shard.chunks_stored, shard.chunks, shard.tokens
            ));
        }
        printer.data(&lines.join("\n")).map_err(Error::io("<stdout>"))?;
    }
    let complete = status.chunks_stored == status.chunks;
    Ok(if complete { ExitStatus::Success } else { ExitStatus::Partial }.into())
}
