//! The usage text, written from the flag tables, and usage errors (exit status 2).

use std::fmt::Write as _;

use crate::args::{Command, Flag};

impl Flag {
    /// How the flag is written in a synopsis: `-o MODEL.safetensors`, `--epochs N`, `--json`.
    pub(crate) fn synopsis(&self) -> String {
        let name = match self.short {
            Some(letter) => format!("-{letter}"),
            None => format!("--{}", self.name),
        };
        match self.value {
            Some(placeholder) => format!("{name} {placeholder}"),
            None => name,
        }
    }

    /// How the flag is written in an option list: `-o, --output MODEL.safetensors`.
    fn spelling(&self) -> String {
        let short = self.short.map(|letter| format!("-{letter}, ")).unwrap_or_default();
        let value = self.value.map(|placeholder| format!(" {placeholder}")).unwrap_or_default();
        format!("{short}--{}{value}", self.name)
    }
}

/// Width of the option column, the same in every command so that all help lines up. A longer
/// spelling (a list of choices) puts its help on the next line, which keeps the text within
/// 100 columns.
const OPTION_COLUMN: usize = 24;

impl Command {
    /// The command's usage: synopsis, description and one line per flag.
    pub fn usage(&self) -> String {
        let mut synopsis = format!("tagtrain {} {}", self.name, self.operands);
        for flag in self.flags.iter().filter(|f| f.required) {
            synopsis += &format!(" {}", flag.synopsis());
        }
        if self.flags.iter().any(|f| !f.required) {
            synopsis += " [OPTIONS]";
        }
        let mut text = format!("  {synopsis}\n");
        for line in self.about.lines() {
            let _ = writeln!(text, "    {line}");
        }
        // Long names line up whether or not a short alias (`-o, `) precedes them.
        let columns: Vec<String> = self
            .flags
            .iter()
            .map(|f| format!("{}{}", if f.short.is_some() { "" } else { "    " }, f.spelling()))
            .collect();
        let width = OPTION_COLUMN;
        for (flag, column) in self.flags.iter().zip(&columns) {
            let mut help = flag.help.to_string();
            if flag.required {
                help += " (required)";
            }
            if let Some(default) = flag.default {
                help += &format!(" (default {})", default());
            }
            if column.chars().count() <= width {
                let _ = writeln!(text, "    {column:<width$}  {help}");
            } else {
                let _ = writeln!(text, "    {column}\n    {:width$}  {help}", "");
            }
        }
        text.trim_end().to_string()
    }
}

/// Every command's usage, as `tagtrain help` prints it (after a `usage:` line).
pub fn usage(commands: &[Command]) -> String {
    let sections: Vec<String> = commands.iter().map(Command::usage).collect();
    format!("{}\n\n  tagtrain help\n    prints this text", sections.join("\n\n"))
}

/// A mistake in the command line (exit status 2), as opposed to a failure of the work.
#[derive(Debug)]
pub struct UsageError {
    /// What is wrong.
    message: String,
    /// The usage text that applies (one command's, or all of them).
    usage: String,
}

/// A usage error saying `message`, then `usage`, ready to return from a command.
pub fn usage_error(message: impl Into<String>, usage: String) -> anyhow::Error {
    UsageError { message: message.into(), usage }.into()
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}\n\nusage:\n{}", self.message, self.usage)
    }
}

impl std::error::Error for UsageError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::tests::SAMPLE;
    use crate::commands::COMMANDS;

    #[test]
    fn usage_shows_required_flags_in_the_synopsis_and_defaults_in_the_list() {
        let text = SAMPLE.usage();
        assert!(text.starts_with("  tagtrain sample FILE -o OUT [OPTIONS]\n"), "{text}");
        assert!(text.contains("-o, --output OUT  "), "{text}");
        assert!(text.contains("how many (default 7)"), "{text}");
        assert!(text.contains("where (required)"), "{text}");
    }

    #[test]
    fn every_command_declares_each_name_once_and_documents_it() {
        let text = usage(COMMANDS);
        for command in COMMANDS {
            for (i, flag) in command.flags.iter().enumerate() {
                let later = &command.flags[i + 1..];
                assert!(!later.iter().any(|f| f.name == flag.name), "--{} twice", flag.name);
                assert!(
                    flag.short.is_none() || !later.iter().any(|f| f.short == flag.short),
                    "-{:?} twice",
                    flag.short
                );
                assert!(!flag.help.is_empty(), "--{} has no help", flag.name);
                assert!(command.usage().contains(&format!("--{}", flag.name)));
            }
            assert!(text.contains(&format!("tagtrain {} {}", command.name, command.operands)));
        }
    }
}
