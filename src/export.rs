//! "Export for the web": one zip holding a model, the predict package and a ready page that
//! predicts with that model, to unzip onto any static web host.
//!
//! The page is the app's example page (`www/example/`), moved to the zip's root next to the
//! model, and told which model to load by a `<meta name="tagtrain-model">` tag. The page
//! fetches the files listed in [`SITE_FILES`] from where it is served and hands them here, so
//! the zip always holds exactly the package the app itself was built with.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;

use crate::checkpoint;
use crate::error::{Error, Result};

/// The files of the exported site besides the model, as paths under the app's root (`www/`).
pub const SITE_FILES: &[&str] = &[
    "example/index.html",
    "example/example.js",
    "example/example.css",
    "example/microphone.js",
    "example/microphone-worklet.js",
    "predict/index.js",
    "predict/index.d.ts",
    "predict/package.json",
    "predict/README.md",
    "predict/pkg/tagtrain_predict.js",
    "predict/pkg/tagtrain_predict_bg.wasm",
];

/// The model's name inside the zip.
pub const MODEL_FILE: &str = "model.safetensors";

/// Builds the export zip from a model file and the [`SITE_FILES`] (`(path, bytes)`, any order).
///
/// # Errors
/// A model file tagtrain cannot read; a site file missing or not as the app ships it (then the
/// app's own build is broken, and the message says which file).
pub fn web_export(model: &[u8], files: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    let metadata = checkpoint::check(model)?;
    let file = |path: &str| -> Result<&[u8]> {
        files.iter().find(|(p, _)| p == path).map(|(_, b)| b.as_slice()).ok_or_else(|| {
            Error::misuse(format!("the export needs the app's file '{path}'; rebuild the app"))
        })
    };
    let text = |path: &str| -> Result<String> {
        String::from_utf8(file(path)?.to_vec())
            .map_err(|_| Error::misuse(format!("the app's file '{path}' is not UTF-8")))
    };
    // At the zip's root the package is `./predict/`, not `../predict/`.
    let script = replace_once(
        &text("example/example.js")?,
        "\"../predict/index.js\"",
        "\"./predict/index.js\"",
    )
    .ok_or_else(|| Error::misuse("example/example.js does not import ../predict/index.js"))?;
    let page = replace_once(
        &text("example/index.html")?,
        "<meta charset=\"utf-8\">",
        &format!(
            "<meta charset=\"utf-8\">\n  <meta name=\"tagtrain-model\" content=\"{MODEL_FILE}\">"
        ),
    )
    .ok_or_else(|| Error::misuse("example/index.html has no <meta charset=\"utf-8\">"))?;
    let readme = format!(
        "{name}: {labels} labels ({list}), {size} px.\n\n\
         Put this folder on any static web host (GitHub Pages, Netlify, an S3 bucket, nginx) and\n\
         open index.html: it loads {MODEL_FILE} and predicts the images you drop or the camera's\n\
         frames (for a model of sound clips: the sound files you drop or the microphone), in the\n\
         browser, with nothing sent anywhere. To try it on your machine, run a\n\
         local server in this folder (e.g. `python3 -m http.server`) and open\n\
         http://localhost:8000/. Opening index.html from the disk (file://) does not work:\n\
         browsers refuse to run module scripts and WebAssembly from file:// pages.\n\n\
         predict/ is the @tagtrain/predict package (see predict/README.md) to use the model in\n\
         your own pages.\n",
        name = metadata.architecture.name(),
        labels = metadata.labels.len(),
        list = metadata.labels.join(", "),
        size = metadata.input.image_size,
    );

    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut add = |path: &str, bytes: &[u8]| -> Result<()> {
        zip.start_file(path, deflated)
            .and_then(|()| zip.write_all(bytes).map_err(Into::into))
            .map_err(|e| Error::misuse(format!("cannot write '{path}' into the export: {e}")))
    };
    add("index.html", page.as_bytes())?;
    add("example.js", script.as_bytes())?;
    add("example.css", file("example/example.css")?)?;
    add("microphone.js", file("example/microphone.js")?)?;
    add("microphone-worklet.js", file("example/microphone-worklet.js")?)?;
    add(MODEL_FILE, model)?;
    add("README.txt", readme.as_bytes())?;
    for path in SITE_FILES.iter().filter(|p| p.starts_with("predict/")) {
        add(path, file(path)?)?;
    }
    let cursor =
        zip.finish().map_err(|e| Error::misuse(format!("cannot finish the export zip: {e}")))?;
    Ok(cursor.into_inner())
}

/// `text` with its one occurrence of `from` replaced; `None` unless it occurs exactly once.
fn replace_once(text: &str, from: &str, to: &str) -> Option<String> {
    (text.matches(from).count() == 1).then(|| text.replacen(from, to, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(skip: Option<&str>) -> Vec<(String, Vec<u8>)> {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/www/");
        SITE_FILES
            .iter()
            .filter(|p| Some(**p) != skip)
            .map(|p| {
                // The package's module is built later than these tests run: stand-ins.
                let bytes =
                    std::fs::read(format!("{root}{p}")).unwrap_or_else(|_| p.as_bytes().to_vec());
                (p.to_string(), bytes)
            })
            .collect()
    }

    fn model() -> Vec<u8> {
        let config: crate::NetworkConfig = crate::ResNetV2Config::for_depth(11, 2).unwrap().into();
        let device = burn::tensor::Device::flex();
        let network = config.init(&device).unwrap();
        let metadata = checkpoint::ModelMetadata {
            labels: vec!["cat".into(), "dog".into()],
            thresholds: vec![0.5, 0.5],
            architecture: config,
            ..Default::default()
        };
        pollster::block_on(checkpoint::save(&network, &metadata)).unwrap()
    }

    #[test]
    fn the_zip_holds_a_wired_page_the_package_and_the_model() {
        let model = model();
        let bytes = web_export(&model, &site(None)).unwrap();
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut read = |name: &str| {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut zip.by_name(name).unwrap(), &mut out).unwrap();
            out
        };
        assert_eq!(read(MODEL_FILE), model);
        let page = String::from_utf8(read("index.html")).unwrap();
        assert!(page.contains("<meta name=\"tagtrain-model\" content=\"model.safetensors\">"));
        let script = String::from_utf8(read("example.js")).unwrap();
        assert!(script.contains("from \"./predict/index.js\"") && !script.contains("../predict"));
        let readme = String::from_utf8(read("README.txt")).unwrap();
        assert!(readme.starts_with("ResNetV2-Small-11: 2 labels (cat, dog), 32 px."), "{readme}");
        assert!(readme.contains("file://"), "says why opening from the disk does not work");
        let microphone = String::from_utf8(read("microphone.js")).unwrap();
        assert!(microphone.contains("\"microphone-worklet.js\""), "beside it in the zip");
        assert!(!read("microphone-worklet.js").is_empty());
        for path in SITE_FILES.iter().filter(|p| p.starts_with("predict/")) {
            assert!(!read(path).is_empty(), "{path}");
        }
    }

    #[test]
    fn a_missing_file_or_a_bad_model_is_said() {
        let err = web_export(&model(), &site(Some("predict/index.js"))).unwrap_err();
        assert!(err.to_string().contains("'predict/index.js'"), "{err}");
        let err = web_export(b"not a model", &site(None)).unwrap_err();
        assert!(err.to_string().contains("not a usable tagtrain model file"), "{err}");
    }
}
