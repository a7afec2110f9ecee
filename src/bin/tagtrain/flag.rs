//! One flag of a command, as its table declares it: its names, its value, its help, its
//! default, and the library option it sets.

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
    /// The library's name of the option this flag sets (its JSON name, `emaDecay`), which is
    /// how the library's errors name it: an error about it is told as one about this flag.
    pub option: Option<&'static str>,
    /// An older long name still accepted for one release, with a note that it changed.
    pub former_name: Option<&'static str>,
}

impl Flag {
    /// A flag without a value (`--quiet`).
    pub const fn switch(name: &'static str, help: &'static str) -> Self {
        Self {
            name,
            short: None,
            value: None,
            help,
            required: false,
            default: None,
            option: None,
            former_name: None,
        }
    }

    /// A flag followed by a value (`--epochs N`); `placeholder` names the value in the usage.
    pub const fn valued(name: &'static str, placeholder: &'static str, help: &'static str) -> Self {
        Self { value: Some(placeholder), ..Self::switch(name, help) }
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

    /// Sets the library's option `option` (named as in JSON and in the library's errors).
    pub const fn sets(mut self, option: &'static str) -> Self {
        self.option = Some(option);
        self
    }

    /// Was called `--former_name`, which still works for one release.
    pub const fn formerly(mut self, former_name: &'static str) -> Self {
        self.former_name = Some(former_name);
        self
    }

    /// How the flag is written in a synopsis: `-o MODEL.safetensors`, `--epochs N`, `--json`.
    pub fn synopsis(&self) -> String {
        let name = match self.short {
            Some(letter) => format!("-{letter}"),
            None => format!("--{}", self.name),
        };
        match self.value {
            Some(placeholder) => format!("{name} {placeholder}"),
            None => name,
        }
    }

    /// True when `word` (as typed) names this flag.
    pub(crate) fn is_spelled(&self, word: &str) -> bool {
        match (word.strip_prefix("--"), word.strip_prefix('-')) {
            (Some(long), _) => long == self.name || Some(long) == self.former_name,
            (None, Some(short)) => {
                let mut letters = short.chars();
                self.short.is_some() && letters.next() == self.short && letters.next().is_none()
            }
            (None, None) => false,
        }
    }
}
