//! The usage text, written from the flag tables: one command's, every command's, and the
//! one that follows a usage error.

use std::fmt::Write as _;

use crate::args::{Command, UsageError};
use crate::flag::Flag;

impl Flag {
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

/// What `tagtrain` prints for the usage `error`: its message, then the usage of its command
/// (of every command in `commands` when it has none).
pub fn usage_of(error: &UsageError, commands: &[Command]) -> String {
    let usage = match error.command() {
        Some(command) => command.usage(),
        None => usage(commands),
    };
    format!("{error}\n\nusage:\n{usage}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::tests::SAMPLE;
    use crate::args::usage_error;
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
                if let Some(former) = flag.former_name {
                    let taken = command.flags.iter().any(|f| f.name == former);
                    assert!(!taken, "--{former} is a flag and --{}'s former name", flag.name);
                }
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

    #[test]
    fn a_usage_error_is_followed_by_its_commands_usage_or_every_commands() {
        let error = usage_error("--count: too many", Some(&SAMPLE));
        let text = usage_of(error.downcast_ref().unwrap(), COMMANDS);
        assert!(text.starts_with("--count: too many\n\nusage:\n  tagtrain sample FILE"), "{text}");
        assert!(!text.contains("tagtrain train"), "{text}");
        let error = usage_error("no command given", None);
        let text = usage_of(error.downcast_ref().unwrap(), COMMANDS);
        assert!(text.starts_with("no command given\n\nusage:\n"), "{text}");
        assert!(text.contains("tagtrain train") && text.ends_with("prints this text"), "{text}");
    }
}
