//! The words of every error: what went wrong, where, and what to do.

use std::fmt;

use super::{Error, ErrorKind, PROBLEMS_KEPT, PROBLEMS_SHOWN};

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ErrorKind::*;
        match &self.kind {
            NotAZip { reason } => write!(
                f,
                "the file is not a readable zip archive ({reason}); pick a .zip holding index.csv and the images"
            ),
            ZipEntry { entry, reason } => {
                write!(f, "zip entry '{entry}' cannot be read: {reason}")
            }
            Limit { what, place, limit, actual } => write!(
                f,
                "{place}: {what} is {actual}, over the limit of {limit}; make the dataset smaller or raise the limit"
            ),
            MissingIndexCsv { entries, unlabelled: 0, .. } => write!(
                f,
                "no index.csv in the zip ({entries} entries), and no image or sound clip in a label folder; add an index.csv at the top level with a column 'image' and one 0/1 column per label, or put each label's images in a folder named after the label (cat/1.jpg, dog/2.jpg)"
            ),
            MissingIndexCsv { unlabelled, wrapper, .. } => {
                let (place, example) = match wrapper.as_str() {
                    "" => ("lie at the top level".to_string(), String::new()),
                    w => (format!("are all in one folder, '{w}/',"), format!("{w}/")),
                };
                write!(
                    f,
                    "no index.csv in the zip, and its {unlabelled} files (images or sound clips) {place} in no label folder, so they have no labels; put each label's files in a folder named after the label ({example}cat/1.jpg, {example}dog/2.jpg; a file in several folders, with the same name, gets each folder's label), or add an index.csv at the top level with a column 'image' and one 0/1 column per label"
                )
            }
            LabelFolder { folder, message } => write!(f, "folder '{folder}': {message}"),
            InnerZip { entry } => write!(
                f,
                "the zip holds another zip, '{entry}', and no index.csv beside it; unzip the inner '{entry}' first and load the zip it holds (or zip the folder with index.csv and the images)"
            ),
            Csv { line, column: Some(column), message } => {
                write!(f, "index.csv line {line}, column '{column}': {message}")
            }
            Csv { line, column: None, message } => write!(f, "index.csv line {line}: {message}"),
            Changes { line, message } => write!(f, "changes.csv line {line}: {message}"),
            BadLabelValue { line, column, value } => write!(
                f,
                "index.csv line {line}, column '{column}': the value '{value}' is not 0 or 1; label columns hold 1 (present) or 0 (absent)"
            ),
            DuplicateRow { line, first_line, image } => write!(
                f,
                "index.csv line {line}: image '{image}' is already listed on line {first_line}; keep one row per image"
            ),
            MissingImage { line, image, suggestion: Some(s) } => write!(
                f,
                "index.csv line {line}: image '{image}' is not in the zip; did you mean '{s}'?"
            ),
            MissingImage { line, image, suggestion: None } => write!(
                f,
                "index.csv line {line}: image '{image}' is not in the zip; add it or remove the row"
            ),
            UnsupportedImage { image, format } => write!(
                f,
                "image '{image}' is a {format}; tagtrain reads JPEG and PNG: convert it to .jpg or .png (or remove its row)"
            ),
            MoreProblems { count } => write!(
                f,
                "{count} more problems are not listed (tagtrain keeps the first {PROBLEMS_KEPT}); fix those listed and load the zip again"
            ),
            ImageDecode { image, reason } => write!(
                f,
                "image '{image}' cannot be decoded ({reason}); replace it with a valid .jpg or .png or remove its row"
            ),
            AudioDecode { clip, reason } => write!(
                f,
                "clip '{clip}' cannot be used: {reason}; replace it with a valid WAV, FLAC, Ogg Vorbis or MP3 file or remove its row"
            ),
            MixedMedia { image, clip } => write!(
                f,
                "the dataset holds images (such as '{image}') and sound clips (such as '{clip}'); a dataset holds one kind: put the images and the sounds in two zips"
            ),
            EmptyDataset { reason } => write!(f, "the dataset cannot be used: {reason}"),
            InvalidOption { option, message } => write!(f, "option '{option}': {message}"),
            ModelFile { reason } => write!(f, "not a usable tagtrain model file: {reason}"),
            RunState { reason } => write!(f, "the saved training run cannot be resumed: {reason}"),
            Diverged { step, loss, learning_rate } => write!(
                f,
                "training diverged at step {step} (loss {loss}, learning rate {learning_rate:.2e}); \
                 lower the learning rate"
            ),
            Peer { rank, reason } => write!(f, "data-parallel peer {rank}: {reason}"),
            Backend { reason } => write!(f, "compute backend error: {reason}"),
            Misuse { message } => write!(f, "{message}"),
            WillNotFit { advice, .. } => write!(f, "{advice}"),
            Io { path, reason } => write!(f, "{path}: {reason}"),
            Problems { problems } => {
                write!(
                    f,
                    "the dataset has {} problems; fix them and load the zip again:",
                    self.problem_count()
                )?;
                for p in problems.iter().take(PROBLEMS_SHOWN) {
                    write!(f, "\n  - {p}")?;
                }
                if problems.len() > PROBLEMS_SHOWN {
                    let shown: usize =
                        problems.iter().take(PROBLEMS_SHOWN).map(Error::problem_count).sum();
                    write!(f, "\n  … and {} more", self.problem_count() - shown)?;
                }
                Ok(())
            }
        }
    }
}
