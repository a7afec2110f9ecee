//! `tagtrain apply-changes`: a dataset zip with a change log's label edits applied, written as
//! a new zip (the files' bytes copied untouched, `index.csv` edited, `changes.csv` beside it).

use anyhow::Context;
use tagtrain::data::ChangeLog;

use super::{open_dataset, read};
use crate::args::{Args, Command};
use crate::flag::Flag;

/// The command's declaration: operands, description and flags.
pub(super) const COMMAND: Command = Command {
    name: "apply-changes",
    operands: "DATA.zip CHANGES.csv",
    about: "applies a change log (image,label,old,new,why) to a dataset zip and writes the \
            edited zip: files untouched, index.csv edited, changes.csv kept",
    flags: &[Flag::valued("output", "NEW.zip", "the edited dataset zip to write")
        .short('o')
        .required()],
    run: apply_changes,
};

/// Applies the log and writes the new zip.
fn apply_changes(args: &Args) -> anyhow::Result<()> {
    let [data, changes] = args.positional() else {
        return Err(args.usage_error("apply-changes takes a dataset zip and a change log"));
    };
    let output = args.required("output");
    let log = ChangeLog::parse(&read(changes)?)
        .with_context(|| format!("{changes} cannot be used as a change log"))?;
    let mut source = open_dataset(data)?;
    let zip = source
        .apply_changes(&log)
        .and_then(|()| source.export_zip())
        .with_context(|| format!("{changes} cannot be applied to {data}"))?;
    std::fs::write(output, zip).with_context(|| format!("cannot write {output}"))?;
    eprintln!("wrote {output}: {} label(s) changed", log.changes.len());
    Ok(())
}
