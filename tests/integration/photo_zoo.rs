//! Real photo files in awkward formats (copied from ../shared/datasets/C_photo_zoo.zip into
//! tests/fixtures/photo_zoo/) decode to the right colours and orientation.
//!
//! Expected values were computed independently with Pillow 13.0 (`ImageOps.exif_transpose`,
//! `convert("RGBA")` composited onto white, `resize((16, 16), BILINEAR)`), as the mean colour of
//! each 8×8 quadrant (top-left, top-right, bottom-left, bottom-right):
//!
//! ```python
//! im = ImageOps.exif_transpose(Image.open(f)).convert("RGBA")
//! rgb = Image.alpha_composite(Image.new("RGBA", im.size, (255,) * 4), im).convert("RGB")
//! a = np.asarray(rgb.resize((16, 16), Image.BILINEAR)).astype(float)
//! [a[:8, :8].mean((0, 1)), a[:8, 8:].mean((0, 1)), a[8:, :8].mean((0, 1)), a[8:, 8:].mean((0, 1))]
//! ```
//!
//! Decoders and resampling filters differ slightly between libraries, hence the tolerance.

use crate::common;

use tagtrain::Limits;
use tagtrain::data::image::{decode_image, header};
use tagtrain::data::{DatasetSource, ResizePolicy};

const TOLERANCE: f64 = 10.0;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/photo_zoo/{name}", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
}

/// Mean RGB of the four 8×8 quadrants of a 16×16 decode.
fn quadrants(name: &str) -> [[f64; 3]; 4] {
    let px = decode_image(name, &fixture(name), 16, 3, ResizePolicy::Stretch, &Limits::default())
        .unwrap();
    let mut out = [[0.0; 3]; 4];
    for y in 0..16 {
        for x in 0..16 {
            let q = (y / 8) * 2 + x / 8;
            for c in 0..3 {
                out[q][c] += f64::from(px[(y * 16 + x) * 3 + c]) / 64.0;
            }
        }
    }
    out
}

fn assert_quadrants(name: &str, expected: [[f64; 3]; 4]) {
    let got = quadrants(name);
    for (q, (g, e)) in got.iter().zip(&expected).enumerate() {
        for c in 0..3 {
            assert!(
                (g[c] - e[c]).abs() <= TOLERANCE,
                "{name} quadrant {q} channel {c}: tagtrain {g:?}, Pillow {e:?} (all: {got:?})"
            );
        }
    }
}

#[test]
fn cmyk_jpeg() {
    assert_quadrants(
        "cmyk.jpg",
        [[54.8, 6.6, 9.4], [36.8, 5.8, 8.0], [16.6, 4.8, 6.3], [12.5, 4.6, 5.9]],
    );
}

#[test]
fn sixteen_bit_png_with_transparent_value() {
    // Pillow's i_trns.png: 16-bit gray with samples 0..255 (of 65535, so nearly black) and tRNS
    // marking the value 255 transparent. Pillow clips 16-bit samples to 8 bits and ignores the
    // tRNS here ([60.5, 117.5, 129.9, 187.9]); the PNG specification scales (v / 257) and makes
    // value-255 pixels transparent, i.e. white on white. Computed with numpy from the raw
    // samples: `v = where(a == 255, 255, round(a / 257))`, quadrant means.
    assert_quadrants(
        "gray16_trns.png",
        [[23.9, 23.9, 23.9], [22.6, 22.6, 22.6], [44.0, 44.0, 44.0], [49.9, 49.9, 49.9]],
    );
}

#[test]
fn palette_png_with_transparency_on_white() {
    // Without compositing onto white the top-left would be [56.5, 45.1, 4.3].
    assert_quadrants(
        "palette.png",
        [
            [183.6, 172.2, 131.4],
            [205.6, 204.5, 202.1],
            [156.0, 164.5, 138.5],
            [213.8, 213.0, 212.4],
        ],
    );
}

#[test]
fn exif_orientation_is_applied() {
    // hopper_orientation_6.jpg is hopper.jpg stored rotated with EXIF orientation 6; upright,
    // both give the same picture. Ignoring the tag, the top-left would be [108, 117.5, 154.8].
    let upright =
        [[93.7, 72.3, 80.0], [108.0, 117.5, 154.9], [80.5, 56.4, 53.1], [76.1, 73.4, 92.3]];
    assert_quadrants("exif_orientation_6.jpg", upright);
    assert_quadrants(
        "rgb.jpg",
        [[93.9, 72.2, 80.0], [108.0, 117.5, 155.0], [80.4, 56.5, 53.2], [76.3, 73.4, 92.5]],
    );
}

#[test]
fn gray_alpha_png_on_white() {
    assert_quadrants(
        "gray_alpha.png",
        [
            [230.2, 230.2, 230.2],
            [235.0, 235.0, 235.0],
            [245.5, 245.5, 245.5],
            [254.6, 254.6, 254.6],
        ],
    );
    assert!(
        header("gray_alpha.png", &fixture("gray_alpha.png"), &Limits::default()).unwrap().grayscale
    );
}

#[test]
fn a_zip_of_every_awkward_file_loads_and_decodes() {
    let names = [
        "cmyk.jpg",
        "gray16_trns.png",
        "palette.png",
        "exif_orientation_6.jpg",
        "gray_alpha.png",
        "rgb.jpg",
    ];
    let mut csv = String::from("image,warm\n");
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        csv.push_str(&format!("photos/{name},{}\n", i % 2));
        files.push((format!("zoo/photos/{name}"), fixture(name)));
    }
    files.push(("zoo/index.csv".into(), csv.into_bytes()));
    let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    let mut source = DatasetSource::from_zip(common::zip_of(&refs), &Limits::default()).unwrap();
    let summary = source.summary();
    assert_eq!(summary.profile.images, 6);
    assert!(!summary.profile.grayscale, "colour photos among them");
    for policy in [ResizePolicy::Stretch, ResizePolicy::CenterCrop, ResizePolicy::Letterbox] {
        let ds = source.decode(24, policy, |_, _| {}).unwrap();
        assert_eq!(ds.pixels.len(), 6 * 24 * 24 * 3);
    }
}
