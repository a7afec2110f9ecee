//! Command-line parsing driven by one table of [`Flag`]s per [`Command`].
//!
//! Each flag is declared once. From that declaration the parser knows whether it takes a value
//! and which alias it has, the usage text is written (`usage.rs`), defaults are shown and
//! applied, and every lookup by name is checked: asking for a flag the command does not
//! declare is a bug, and panics (in release builds too) rather than silently reading nothing.
//!
//! A mistake in the command line is a [`UsageError`]; it names the command whose usage applies,
//! and `usage.rs` writes that usage when the error is printed, so this module needs nothing
//! from it.

use std::borrow::Cow;
use std::str::FromStr;

use crate::flag::Flag;

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
    /// Notes for the user about how the flags were written (a former name used).
    notes: Vec<String>,
}

impl Args {
    /// Parses `words` (what follows the command name). Any word starting with `-` (other than
    /// `-` alone) must be one of the command's flags; a valued flag takes the next word whatever
    /// it looks like, so `--lr -1` reaches validation rather than the parser.
    pub fn parse(command: &'static Command, words: &[String]) -> anyhow::Result<Self> {
        let mistake = |message: String| usage_error(message, Some(command));
        let mut positional = Vec::new();
        let mut given = Vec::new();
        let mut notes = Vec::new();
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
            if word.strip_prefix("--").is_some_and(|long| long != flag.name) {
                notes.push(format!(
                    "{word} is now --{}; the old name stops working in the next release",
                    flag.name
                ));
            }
            given.push((flag.name, value));
        }
        let missing =
            command.flags.iter().find(|f| f.required && !given.iter().any(|(n, _)| *n == f.name));
        if let Some(flag) = missing {
            return Err(mistake(format!("{} needs {}", command.name, flag.synopsis())));
        }
        Ok(Self { command, positional, given, notes })
    }

    /// What the user should know about how the flags were written, one line each.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The positional arguments.
    pub fn positional(&self) -> &[String] {
        &self.positional
    }

    /// A usage error about these arguments, followed by the command's usage.
    pub fn usage_error(&self, message: impl Into<String>) -> anyhow::Error {
        usage_error(message, Some(self.command))
    }

    /// `error` in the command line's terms: an invalid option that one of the command's flags
    /// sets is said to be that flag's (`--ema: …` rather than `option 'emaDecay': …`), the one
    /// given when several flags set it. Other errors are returned as they are.
    pub fn in_flag_terms(&self, error: tagtrain::Error) -> anyhow::Error {
        match self.flag_message(&error) {
            Some(message) => anyhow::Error::msg(message),
            None => error.into(),
        }
    }

    /// `error` as a usage error, in the command line's terms (see [`Args::in_flag_terms`]).
    pub fn usage_error_from(&self, error: tagtrain::Error) -> anyhow::Error {
        self.usage_error(self.flag_message(&error).unwrap_or_else(|| error.to_string()))
    }

    /// `--flag: what is wrong` when `error` is about an option one of the command's flags sets.
    fn flag_message(&self, error: &tagtrain::Error) -> Option<String> {
        let tagtrain::ErrorKind::InvalidOption { option, message } = error.kind() else {
            return None;
        };
        let setting: Vec<&Flag> =
            self.command.flags.iter().filter(|f| f.option == Some(*option)).collect();
        let given = setting.iter().find(|f| self.given.iter().any(|(n, _)| *n == f.name));
        let flag = given.or(setting.first())?;
        Some(format!("--{}: {message}", flag.name))
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

/// A mistake in the command line (exit status 2), as opposed to a failure of the work. It
/// shows as its message; `usage::usage_of` writes the usage text that follows it.
pub struct UsageError {
    /// What is wrong.
    message: String,
    /// The command whose usage applies; `None`: no command was recognised, and every
    /// command's usage applies.
    command: Option<&'static Command>,
}

impl UsageError {
    /// The command whose usage applies, when one was recognised.
    pub fn command(&self) -> Option<&'static Command> {
        self.command
    }
}

/// A usage error saying `message` about `command` (`None`: about the command line as a whole),
/// ready to return from a command.
pub fn usage_error(message: impl Into<String>, command: Option<&'static Command>) -> anyhow::Error {
    UsageError { message: message.into(), command }.into()
}

impl std::fmt::Debug for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let command = self.command.map(|c| c.name);
        f.debug_struct("UsageError")
            .field("message", &self.message)
            .field("command", &command)
            .finish()
    }
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UsageError {}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A command with one flag of each kind.
    pub(crate) static SAMPLE: Command = Command {
        name: "sample",
        operands: "FILE",
        about: "a command for tests",
        flags: &[
            Flag::valued("output", "OUT", "where").short('o').required(),
            Flag::valued("count", "N", "how many").with_default(|| "7".into()),
            Flag::switch("quiet", "say less"),
            Flag::valued("run-file", "FILE", "the run").formerly("checkpoint").sets("runFile"),
            Flag::valued("resume", "FILE", "the run again").sets("runFile"),
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

    #[test]
    fn a_former_name_is_the_flag_with_a_note() {
        let args = parse(&["-o", "x", "--checkpoint", "run.bin"]).unwrap();
        assert_eq!(args.value("run-file"), Some("run.bin"));
        assert_eq!(
            args.notes(),
            ["--checkpoint is now --run-file; the old name stops working in the next release"]
        );
        let args = parse(&["-o", "x", "--run-file", "run.bin"]).unwrap();
        assert_eq!(args.value("run-file"), Some("run.bin"));
        assert!(args.notes().is_empty());
    }

    #[test]
    fn errors_about_an_option_name_the_flag_that_sets_it() {
        let invalid = |option| {
            tagtrain::Error::new(tagtrain::ErrorKind::InvalidOption {
                option,
                message: "is wrong".into(),
            })
        };
        let args = parse(&["-o", "x"]).unwrap();
        assert_eq!(args.in_flag_terms(invalid("runFile")).to_string(), "--run-file: is wrong");
        let error = args.usage_error_from(invalid("runFile"));
        assert!(error.is::<UsageError>());
        assert_eq!(error.to_string(), "--run-file: is wrong");
        // The flag given, when several set the option.
        let args = parse(&["-o", "x", "--resume", "run.bin"]).unwrap();
        assert_eq!(args.in_flag_terms(invalid("runFile")).to_string(), "--resume: is wrong");
        // An option no flag sets, and any other error, are left as the library says them.
        let other = args.in_flag_terms(invalid("depth")).to_string();
        assert_eq!(other, invalid("depth").to_string());
        assert!(args.usage_error_from(invalid("depth")).is::<UsageError>());
    }
}
