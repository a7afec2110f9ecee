//! The evaluation report: one self-contained HTML file for people who do not run tagtrain.
//!
//! It holds the overall metrics, the per-label table, each label's precision–recall and ROC
//! curves (inline SVG, the threshold in force marked), each label's most confident false
//! positives and negatives and the images with the highest loss (thumbnails embedded as PNG
//! `data:` URLs). Nothing is fetched: the file opens offline, from disk or an e-mail. The numbers
//! come from the same [`Review`] the page shows, and are also embedded as JSON
//! (`<script type="application/json" id="tagtrain-review">`) for programs.

use std::fmt::Write;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::review::{LabelCurves, Review, ReviewSource, ReviewedImage};

/// Pixels to embed, `width × height` RGBA.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Thumbnail {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width × height × 4` bytes, row-major.
    pub rgba: Vec<u8>,
}

impl Thumbnail {
    /// A thumbnail from pixels as the decoder returns them: `side × side`, 1 (gray) or 3 (RGB)
    /// channels, `HWC`.
    pub fn from_pixels(pixels: &[u8], side: usize, channels: usize) -> Self {
        let rgba = match channels {
            1 => pixels.iter().flat_map(|&v| [v, v, v, 255]).collect(),
            _ => pixels.chunks_exact(channels).flat_map(|p| [p[0], p[1], p[2], 255]).collect(),
        };
        Self { width: side as u32, height: side as u32, rgba }
    }

    /// The thumbnail as a PNG file.
    ///
    /// # Errors
    /// Sizes that disagree with the pixels.
    pub fn png(&self) -> Result<Vec<u8>> {
        use image::ImageEncoder;
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(&self.rgba, self.width, self.height, image::ExtendedColorType::Rgba8)
            .map_err(|e| Error::misuse(format!("a thumbnail cannot be encoded: {e}")))?;
        Ok(out)
    }
}

/// What the report is about, for its heading.
#[derive(Debug, Clone, Default)]
pub struct ReportTitle {
    /// The model (file name, or the network's name).
    pub model: String,
    /// The dataset (zip name).
    pub dataset: String,
}

/// False positives and negatives shown per label, and images in the "most wrong" gallery.
const ERRORS_SHOWN: usize = 8;
const MOST_WRONG_SHOWN: usize = 16;

/// Writes the report of `review`. `thumbnail(index)` gives the pixels of a dataset image
/// (`None` leaves its picture out; the name and numbers stay).
///
/// # Errors
/// A thumbnail that cannot be encoded.
pub fn html_report(
    review: &Review,
    title: &ReportTitle,
    thumbnail: &mut dyn FnMut(usize) -> Option<Thumbnail>,
) -> Result<String> {
    let summary = review.summary();
    let m = &summary.metrics;
    let mut html = String::with_capacity(64 * 1024);
    let heading = format!("{} on {}", title.model, title.dataset);
    let measured = match summary.source {
        ReviewSource::Validation => "the validation images of the run that trained it",
        ReviewSource::Evaluation => "every image of the dataset",
    };
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>tagtrain report: {}</title><style>{STYLE}</style></head><body>\
         <h1>tagtrain report</h1><p class=\"lead\">{}</p>\
         <p>Measured on {} ({} images), at the thresholds in force: a label is predicted when its \
         probability reaches its threshold.</p>",
        escape(&heading),
        escape(&heading),
        measured,
        summary.images
    );
    let _ = write!(
        html,
        "<table class=\"overall\"><tr><th>mAP</th><th>macro ROC AUC</th><th>micro-F1</th>\
         <th>macro-F1</th><th>Hamming loss</th><th>subset accuracy</th></tr><tr>\
         <td data-metric=\"map\">{}</td><td data-metric=\"macroRocAuc\">{}</td>\
         <td data-metric=\"microF1\">{}</td><td data-metric=\"macroF1\">{}</td>\
         <td data-metric=\"hammingLoss\">{}</td><td data-metric=\"subsetAccuracy\">{}</td></tr></table>",
        num(m.map),
        opt(m.macro_roc_auc),
        num(m.micro_f1),
        num(m.macro_f1),
        num(m.hamming_loss),
        num(m.subset_accuracy)
    );
    html.push_str(
        "<h2>Per label</h2><table class=\"labels\"><tr><th>label</th><th>threshold</th>\
         <th>precision</th><th>recall</th><th>F1</th><th>AP</th><th>ROC AUC</th><th>support</th>\
         <th>false positives</th><th>false negatives</th></tr>",
    );
    let errors: Vec<_> =
        (0..summary.labels.len()).map(|j| review.errors(j, ERRORS_SHOWN)).collect();
    for (l, e) in m.labels.iter().zip(&errors) {
        let _ = write!(
            html,
            "<tr data-label=\"{0}\"><td>{0}</td><td>{1:.3}</td><td>{2}</td><td>{3}</td><td>{4}</td>\
             <td>{5}</td><td>{6}</td><td>{7}</td><td>{8}</td><td>{9}</td></tr>",
            escape(&l.name),
            l.threshold,
            num(l.precision),
            num(l.recall),
            num(l.f1),
            opt(l.ap),
            opt(l.roc_auc),
            l.support,
            e.false_positive_count,
            e.false_negative_count
        );
    }
    html.push_str("</table>");

    for (curves, e) in summary.curves.iter().zip(&errors) {
        let _ = write!(
            html,
            "<section class=\"label\"><h2>{}</h2><div class=\"curves\">",
            escape(&curves.label)
        );
        html.push_str(&pr_svg(curves));
        html.push_str(&roc_svg(curves));
        html.push_str("</div>");
        let _ = write!(
            html,
            "<h3>False positives ({} in all; most confident first)</h3>",
            e.false_positive_count
        );
        gallery(&mut html, &e.false_positives, thumbnail)?;
        let _ = write!(
            html,
            "<h3>False negatives ({} in all; most confident first)</h3>",
            e.false_negative_count
        );
        gallery(&mut html, &e.false_negatives, thumbnail)?;
        html.push_str("</section>");
    }
    html.push_str("<h2>Most wrong (highest loss over every label)</h2>");
    gallery(&mut html, &review.most_wrong(MOST_WRONG_SHOWN), thumbnail)?;
    let json = serde_json::to_string(&summary.metrics)
        .map_err(|e| Error::misuse(format!("the report's numbers cannot be written: {e}")))?;
    // Escaped, `<` cannot end the script element early (`</script>`, `<!--`); JSON reads
    // `\u003c` as `<`.
    let _ = writeln!(
        html,
        "<script type=\"application/json\" id=\"tagtrain-review\">{}</script>\
         <footer>Made by tagtrain. The model's probabilities and the truth never left the machine \
         that made this file.</footer></body></html>",
        json.replace('<', "\\u003c")
    );
    Ok(html)
}

fn gallery(
    html: &mut String,
    images: &[ReviewedImage],
    thumbnail: &mut dyn FnMut(usize) -> Option<Thumbnail>,
) -> Result<()> {
    if images.is_empty() {
        html.push_str("<p class=\"muted\">None.</p>");
        return Ok(());
    }
    html.push_str("<div class=\"gallery\">");
    for image in images {
        let picture = match thumbnail(image.index) {
            Some(t) => {
                format!("<img alt=\"\" src=\"data:image/png;base64,{}\">", base64(&t.png()?))
            }
            None => String::new(),
        };
        let caption = match image.probability {
            Some(p) => format!("p = {p:.3}"),
            None => format!("loss {:.3}", image.loss),
        };
        let _ = write!(
            html,
            "<figure data-index=\"{}\">{picture}<figcaption>{}<br>{caption}</figcaption></figure>",
            image.index,
            escape(&image.name)
        );
    }
    html.push_str("</div>");
    Ok(())
}

const SVG_SIZE: f64 = 220.0;
const SVG_PAD: f64 = 30.0;

/// One curve as an SVG: axes 0–1, the polyline, the operating point.
fn curve_svg(
    title: &str,
    x_name: &str,
    y_name: &str,
    points: &[(f64, f64)],
    at: (f64, f64),
) -> String {
    let span = SVG_SIZE - 2.0 * SVG_PAD;
    let px = |x: f64| SVG_PAD + x.clamp(0.0, 1.0) * span;
    let py = |y: f64| SVG_SIZE - SVG_PAD - y.clamp(0.0, 1.0) * span;
    let mut path = String::new();
    for (x, y) in points {
        let _ = write!(path, "{:.1},{:.1} ", px(*x), py(*y));
    }
    format!(
        "<svg width=\"{s}\" height=\"{s}\" viewBox=\"0 0 {s} {s}\" \
         role=\"img\" aria-label=\"{title}\"><rect x=\"{p}\" y=\"{p}\" width=\"{span}\" height=\"{span}\" \
         fill=\"none\" stroke=\"#999\"/><polyline points=\"{path}\" fill=\"none\" stroke=\"#3366cc\" \
         stroke-width=\"2\"/><circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"5\" fill=\"#d33\"/>\
         <text x=\"{mid}\" y=\"{bottom}\" text-anchor=\"middle\">{x_name}</text>\
         <text x=\"12\" y=\"{mid}\" text-anchor=\"middle\" transform=\"rotate(-90 12 {mid})\">{y_name}</text>\
         <text x=\"{mid}\" y=\"18\" text-anchor=\"middle\">{title}</text></svg>",
        s = SVG_SIZE,
        p = SVG_PAD,
        cx = px(at.0),
        cy = py(at.1),
        mid = SVG_SIZE / 2.0,
        bottom = SVG_SIZE - 8.0,
    )
}

fn pr_svg(c: &LabelCurves) -> String {
    let points: Vec<(f64, f64)> = c.pr.iter().map(|p| (p.recall, p.precision)).collect();
    let title = format!("Precision–recall (AP {})", opt(c.ap));
    curve_svg(&title, "recall", "precision", &points, (c.current.recall, c.current.precision))
}

fn roc_svg(c: &LabelCurves) -> String {
    let points: Vec<(f64, f64)> = c.roc.iter().map(|p| (p.fpr, p.tpr)).collect();
    let title = format!("ROC (AUC {})", opt(c.roc_auc));
    curve_svg(
        &title,
        "false-positive rate",
        "true-positive rate",
        &points,
        (c.current.fpr, c.current.recall),
    )
}

fn num(v: f64) -> String {
    format!("{v:.4}")
}

fn opt(v: Option<f64>) -> String {
    v.map(num).unwrap_or_else(|| "–".into())
}

/// Text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Standard base64 with padding (RFC 4648), for `data:` URLs.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;\
padding:0 1rem;color:#222}table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #ccc;\
padding:.25rem .5rem;text-align:right}th:first-child,td:first-child{text-align:left}.lead{font-size:1.2rem}\
.curves{display:flex;gap:1rem;flex-wrap:wrap}.gallery{display:flex;flex-wrap:wrap;gap:.5rem}\
figure{margin:0;width:112px;font-size:12px;word-break:break-all}figure img{width:96px;height:96px;\
image-rendering:pixelated;border:1px solid #ccc}.muted,footer{color:#666}section.label{border-top:1px \
solid #ddd;margin-top:1.5rem}svg text{font-size:11px;fill:#333}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn the_report_holds_the_review_s_numbers_and_escapes_names() {
        let review = Review::new(
            ReviewSource::Evaluation,
            vec!["<cat>".into(), "dog".into()],
            vec![0.5, 0.5],
            vec![0, 1, 2],
            vec!["a.png".into(), "b&c.png".into(), "d.png".into()],
            vec![0.9, 0.2, 0.6, 0.7, 0.1, 0.4],
            vec![1, 0, 0, 1, 1, 0],
        )
        .unwrap();
        let title = ReportTitle { model: "m.safetensors".into(), dataset: "d.zip".into() };
        let mut thumb = |_i: usize| Some(Thumbnail::from_pixels(&[10; 2 * 2 * 3], 2, 3));
        let html = html_report(&review, &title, &mut thumb).unwrap();
        assert!(html.contains("&lt;cat&gt;") && !html.contains("<cat>"));
        assert!(html.contains("b&amp;c.png"));
        assert!(html.contains("data:image/png;base64,iVBORw0KGgo"));
        assert!(!html.contains("http://") && !html.contains("https://"));
        let metrics = review.metrics();
        assert!(html.contains(&format!("<td data-metric=\"map\">{:.4}</td>", metrics.map)));
        let json_start =
            html.find("id=\"tagtrain-review\">").unwrap() + "id=\"tagtrain-review\">".len();
        let json_end = html[json_start..].find("</script>").unwrap() + json_start;
        let embedded: crate::metrics::MultiLabelMetrics =
            serde_json::from_str(&html[json_start..json_end]).unwrap();
        assert_eq!(embedded, metrics);
    }
}
