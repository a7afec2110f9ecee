//! Command-line parsing driven by one table of [`Flag`]s per [`Command`].
//!
//! Each flag is declared once. From that declaration the parser knows whether it takes a value
//! and which alias it has, the usage text is written (`usage.rs`), defaults are shown and
//! applied, and every lookup by name is checked: asking for a flag the command does not
//! declare is a bug, and panics (in release builds too) rather than silently reading nothing.

use std::borrow::Cow;
use std::str::FromStr;

use crate::usage::usage_error;

/// One option of a command.
pub struct Flag {
    /// The long name: `--name` on the command line, and the key of every lookup.
    pub name: &'static str,
    /// A one-letter alias, written `-o`.
    pub short: Option<char>,
    /// The value's placeholder in the usage text (`N`, `PX`); `None` for a switch.
    pub value: Option<&'static str>,
    /// One line of explanation for the usage text.
    pub help: &'static str,
    /// The command refuses to run without it.
    pub required: bool,
    /// The value used when the flag is absent, as it would be typed. A function so that it can
    /// read the library's defaults, which then show in the usage text without being copied.
    pub default: Option<fn() -> String>,
}

impl Flag {
    /// A flag without a value (`--quiet`).
    pub const fn switch(name: &'static str, help: &'static str) -> Self {
        Self { name, short: None, value: None, help, required: false, default: None }
    }

    /// A flag followed by a value (`--epochs N`); `placeholder` names the value in the usage.
    pub const fn valued(name: &'static str, placeholder: &'static str, help: &'static str) -> Self {
        Self { name, short: None, value: Some(placeholder), help, required: false, default: None }
    }

    /// Also accepted as `-letter`.
    pub const fn short(mut self, letter: char) -> Self {
        self.short = Some(letter);
        self
    }

    /// Must be given.
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Takes `default()` when absent.
    pub const fn with_default(mut self, default: fn() -> String) -> Self {
        self.default = Some(default);
        self
    }

    /// True when `word` (as typed) names this flag.
    fn is_spelled(&self, word: &str) -> bool {
        match (word.strip_prefix("--"), word.strip_prefix('-')) {
            (Some(long), _) => long == self.name,
            (None, Some(short)) => {
                let mut letters = short.chars();
                self.short.is_some() && letters.next() == self.short && letters.next().is_none()
            }
            (None, None) => false,
        }
    }
}

/// A subcommand: its operands, what it does, its flags and the function that runs it.
pub struct Command {
    /// The word after `tagtrain`.
    pub name: &'static str,
    /// The positional arguments as the usage text shows them (`MODEL.safetensors IMAGE...`).
    pub operands: &'static str,
    /// What the command does, for the usage text (lines after the first are indented).
    pub about: &'static str,
    /// Every flag the command accepts.
    pub flags: &'static [Flag],
    /// Runs the command on its parsed arguments.
    pub run: fn(&Args) -> anyhow::Result<()>,
}

/// The arguments of one command, parsed against its flag table.
pub struct Args {
    /// The command they were parsed for; lookups are checked against its flags.
    command: &'static Command,
    /// Arguments that are not flags or flag values, in order.
    positional: Vec<String>,
    /// Flags given, by long name, with their values; later ones override earlier ones.
    given: Vec<(&'static str, Option<String>)>,
}

impl Args {
    /// Parses `words` (what follows the command name). Any word starting with `-` (other than
    /// `-` alone) must be one of the command's flags; a valued flag takes the next word whatever
    /// it looks like, so `--lr -1` reaches validation rather than the parser.
    pub fn parse(command: &'static Command, words: &[String]) -> anyhow::Result<Self> {
        let mistake = |message: String| usage_error(message, command.usage());
        let mut positional = Vec::new();
        let mut given = Vec::new();
        let mut words = words.iter();
        while let Some(word) = words.next() {
            if !word.starts_with('-') || word == "-" {
                positional.push(word.clone());
                continue;
            }
            let flag = command
                .flags
                .iter()
                .find(|f| f.is_spelled(word))
                .ok_or_else(|| mistake(format!("unknown option {word}")))?;
            let value = match flag.value {
                None => None,
                Some(_) => Some(
                    words
                        .next()
                        .ok_or_else(|| mistake(format!("option {word} needs a value")))?
                        .clone(),
                ),
            };
            given.push((flag.name, value));
        }
        let missing =
            command.flags.iter().find(|f| f.required && !given.iter().any(|(n, _)| *n == f.name));
        if let Some(flag) = missing {
            return Err(mistake(format!("{} needs {}", command.name, flag.synopsis())));
        }
        Ok(Self { command, positional, given })
    }

    /// The positional arguments.
    pub fn positional(&self) -> &[String] {
        &self.positional
    }

    /// A usage error about these arguments, followed by the command's usage.
    pub fn usage_error(&self, message: impl Into<String>) -> anyhow::Error {
        usage_error(message, self.command.usage())
    }

    /// True when the switch `name` was given.
    pub fn flag(&self, name: &str) -> bool {
        let flag = self.declared(name);
        assert!(flag.value.is_none(), "--{name} takes a value; look it up with Args::value");
        self.given.iter().any(|(n, _)| *n == name)
    }

    /// The value of `name` (the last one when given more than once).
    pub fn value(&self, name: &str) -> Option<&str> {
        let flag = self.declared(name);
        assert!(flag.value.is_some(), "--{name} is a switch; look it up with Args::flag");
        self.given.iter().rev().find(|(n, _)| *n == name).and_then(|(_, v)| v.as_deref())
    }

    /// The value of `name`, or its declared default.
    pub fn value_or_default(&self, name: &str) -> Cow<'_, str> {
        match self.value(name) {
            Some(value) => Cow::Borrowed(value),
            None => {
                let default = self.declared(name).default;
                Cow::Owned(default.unwrap_or_else(|| panic!("--{name} declares no default"))())
            }
        }
    }

    /// The value of a required flag (the parser has made sure it is there).
    pub fn required(&self, name: &str) -> &str {
        assert!(self.declared(name).required, "--{name} is not declared required");
        self.value(name).expect("the parser rejects a command line without its required flags")
    }

    /// The value of `name` as a number, when given.
    pub fn number<T: FromStr>(&self, name: &str) -> anyhow::Result<Option<T>> {
        self.value(name).map(|text| self.parse_number(name, text)).transpose()
    }

    /// The value of `name` as a number, or its declared default.
    pub fn number_or_default<T: FromStr>(&self, name: &str) -> anyhow::Result<T> {
        self.parse_number(name, &self.value_or_default(name))
    }

    /// `text` as the number `--name` needs, or a usage error.
    fn parse_number<T: FromStr>(&self, name: &str, text: &str) -> anyhow::Result<T> {
        text.parse().map_err(|_| self.usage_error(format!("--{name} {text}: not a valid number")))
    }

    /// The declaration of `name`; a name the command does not declare is a bug in the caller.
    fn declared(&self, name: &str) -> &'static Flag {
        let flags: &'static [Flag] = self.command.flags;
        flags
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("--{name} is not a flag of `tagtrain {}`", self.command.name))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::usage::UsageError;

    /// A command with one flag of each kind.
    pub(crate) static SAMPLE: Command = Command {
        name: "sample",
        operands: "FILE",
        about: "a command for tests",
        flags: &[
            Flag::valued("output", "OUT", "where").short('o').required(),
            Flag::valued("count", "N", "how many").with_default(|| "7".into()),
            Flag::switch("quiet", "say less"),
        ],
        run: |_| Ok(()),
    };

    fn parse(words: &[&str]) -> anyhow::Result<Args> {
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        Args::parse(&SAMPLE, &words)
    }

    fn is_usage_error(result: anyhow::Result<Args>) -> bool {
        result.err().is_some_and(|e| e.is::<UsageError>())
    }

    #[test]
    fn short_and_long_names_are_one_flag_and_the_last_value_wins() {
        let args =
            parse(&["a", "-o", "x", "--output", "y", "b", "--quiet", "--count", "-3"]).unwrap();
        assert_eq!(args.positional(), ["a", "b"]);
        assert_eq!(args.required("output"), "y");
        assert!(args.flag("quiet"));
        assert_eq!(args.number::<i32>("count").unwrap(), Some(-3));
    }

    #[test]
    fn defaults_apply_when_absent() {
        let args = parse(&["-o", "x", "-"]).unwrap();
        assert_eq!(args.positional(), ["-"]);
        assert!(!args.flag("quiet"));
        assert_eq!(args.number::<u32>("count").unwrap(), None);
        assert_eq!(args.number_or_default::<u32>("count").unwrap(), 7);
    }

    #[test]
    fn mistakes_are_usage_errors() {
        assert!(is_usage_error(parse(&["--bogus", "-o", "x"])));
        assert!(is_usage_error(parse(&["-x", "-o", "x"])));
        assert!(is_usage_error(parse(&["--output"])));
        assert!(is_usage_error(parse(&["file"])), "the required -o is missing");
        assert!(is_usage_error(parse(&["--quiet=yes", "-o", "x"])));
        let args = parse(&["-o", "x", "--count", "many"]).unwrap();
        assert!(args.number::<u32>("count").is_err_and(|e| e.is::<UsageError>()));
    }

    #[test]
    #[should_panic(expected = "--epochs is not a flag of `tagtrain sample`")]
    fn looking_up_an_undeclared_flag_is_a_bug() {
        parse(&["-o", "x"]).unwrap().value("epochs");
    }

    #[test]
    #[should_panic(expected = "--quiet is a switch")]
    fn reading_a_switch_as_a_value_is_a_bug() {
        parse(&["-o", "x"]).unwrap().value("quiet");
    }
}
