//! Table 1 as grouped bars: per activation, relutui's test error beside the paper's.
//!
//! The input is the JSON of the paper command (issue 11). Its format is read tolerantly,
//! because the two were written at the same time:
//!
//! ```json
//! {"dataset": "mnist",
//!  "rows": [{"activation": "rectifier", "test_error": 0.0148, "sparsity": 0.84,
//!            "paper_test_error": 0.0143, "paper_sparsity": 0.834, "lr": 0.01}, ...]}
//! ```
//!
//! - the rows may be the whole document (an array) or under `rows`, `results`, `table` or
//!   `networks`; the document may also be the last JSON line of a longer output;
//! - a row names its network with `activation`, `net` or `name`;
//! - its error is `test_error_at_best`, else `test_error`; its sparsity `sparsity`,
//!   `mean_sparsity` or `average_sparsity`. Values above 1 are read as percentages;
//! - the paper's figure is the row's `paper_test_error` (or `paper.test_error`), else a
//!   top-level `paper` object by activation, else, for MNIST (or no dataset named), the
//!   paper's Table 1 without pre-training: rectifier 1.43 %, tanh 1.57 %, softplus 1.77 %,
//!   rectifier sparsity 83.4 %.

use std::fs;
use std::path::Path;

use plotters::prelude::*;
use serde_json::Value;

use super::{draw_err, tick, PlotError, DESC_SIZE, FONT, LABEL_SIZE, LEGEND_SIZE, TITLE_SIZE};
use super::{GREY, PALETTE};

/// Table 1 of the paper, MNIST, no pre-training: (activation, test error, sparsity).
pub const PAPER_MNIST: [(&str, f64, Option<f64>); 3] = [
    ("rectifier", 0.0143, Some(0.834)),
    ("tanh", 0.0157, None),
    ("softplus", 0.0177, None),
];

/// One bar group.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub activation: String,
    /// Fractions, not percentages.
    pub test_error: Option<f64>,
    pub sparsity: Option<f64>,
    pub paper_test_error: Option<f64>,
    pub paper_sparsity: Option<f64>,
}

/// The whole table.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub dataset: Option<String>,
    pub rows: Vec<Row>,
}

/// A fraction from a fraction or a percentage.
fn fraction(v: &Value) -> Option<f64> {
    let x = v.as_f64().filter(|x| x.is_finite() && *x >= 0.0)?;
    Some(if x > 1.0 { x / 100.0 } else { x })
}

fn first(v: &Value, keys: &[&str]) -> Option<f64> {
    keys.iter().find_map(|k| v.get(*k).and_then(fraction))
}

fn rows_of(doc: &Value) -> Option<&Vec<Value>> {
    doc.as_array().or_else(|| {
        ["rows", "results", "table", "networks"]
            .iter()
            .find_map(|k| doc.get(*k).and_then(Value::as_array))
    })
}

/// Parses the paper command's JSON (see the module's documentation).
pub fn parse(text: &str) -> Result<Table, String> {
    let doc: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        // A longer output: its last line that is a JSON document with rows.
        Err(_) => text
            .lines()
            .rev()
            .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
            .find(|v| rows_of(v).is_some())
            .ok_or("holds no JSON document with rows of results")?,
    };
    let rows = rows_of(&doc).ok_or("has no \"rows\" (or \"results\") array")?;
    let dataset = doc
        .get("dataset")
        .and_then(Value::as_str)
        .map(str::to_string);
    let builtin = dataset
        .as_deref()
        .is_none_or(|d| d.eq_ignore_ascii_case("mnist"));
    let mut out = Vec::new();
    for r in rows {
        let Some(name) = ["activation", "net", "name"]
            .iter()
            .find_map(|k| r.get(*k).and_then(Value::as_str))
        else {
            continue;
        };
        let name = if name == "relu" { "rectifier" } else { name };
        let paper_obj = doc.get("paper").and_then(|p| p.get(name));
        let from_paper = |keys: &[&str]| {
            first(r, keys)
                .or_else(|| r.get("paper").and_then(|p| first(p, &keys_tail(keys))))
                .or_else(|| paper_obj.and_then(fraction))
                .or_else(|| paper_obj.and_then(|p| first(p, &keys_tail(keys))))
        };
        let builtin_row = PAPER_MNIST.iter().find(|p| p.0 == name).filter(|_| builtin);
        out.push(Row {
            activation: name.to_string(),
            test_error: first(r, &["test_error_at_best", "test_error"]),
            sparsity: first(r, &["sparsity", "mean_sparsity", "average_sparsity"]),
            paper_test_error: from_paper(&["paper_test_error"]).or(builtin_row.map(|p| p.1)),
            paper_sparsity: first(r, &["paper_sparsity"]).or(builtin_row.and_then(|p| p.2)),
        });
    }
    if out.is_empty() {
        return Err("has no row naming an \"activation\"".into());
    }
    Ok(Table { dataset, rows: out })
}

/// `paper_test_error` → `test_error`: the key inside a `paper` object.
fn keys_tail(keys: &[&str]) -> Vec<&'static str> {
    keys.iter()
        .map(|k| {
            if k.ends_with("sparsity") {
                "sparsity"
            } else {
                "test_error"
            }
        })
        .collect()
}

/// Reads and parses the file at `path`.
pub fn read(path: &Path) -> Result<Table, PlotError> {
    let text = fs::read_to_string(path)
        .map_err(|e| PlotError::Input(format!("{}: cannot read it: {e}", path.display())))?;
    parse(&text).map_err(|e| PlotError::Input(format!("{}: {e}", path.display())))
}

/// A bar series: its legend, colour, (error, sparsity) of a row, and offset in its group.
type Bar = (
    &'static str,
    RGBColor,
    fn(&Row) -> (Option<f64>, Option<f64>),
    f64,
);

/// The bars as SVG text.
pub fn render(table: &Table, width: u32) -> Result<String, PlotError> {
    let height = (f64::from(width) * 0.6) as u32;
    let n = table.rows.len();
    let max = table
        .rows
        .iter()
        .flat_map(|r| [r.test_error, r.paper_test_error])
        .flatten()
        .fold(0.0, f64::max)
        * 100.0;
    let top = if max > 0.0 { max * 1.35 } else { 1.0 };
    let names: Vec<String> = table.rows.iter().map(|r| r.activation.clone()).collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let title = format!(
            "Table 1: test error by activation{}",
            table
                .dataset
                .as_deref()
                .map_or(String::new(), |d| format!(" ({d})"))
        );
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, TITLE_SIZE))
            .margin(16)
            .x_label_area_size(54)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5..n as f64 - 0.5, 0.0..top)
            .map_err(draw_err)?;
        let label = |x: &f64| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.max(1) * 2 + 1)
            .x_label_formatter(&label)
            .y_label_formatter(&|y| tick(*y))
            .x_desc("activation (sparsity: mean exact zeros over hidden layers)")
            .y_desc("test error (%)")
            .label_style((FONT, LABEL_SIZE))
            .axis_desc_style((FONT, DESC_SIZE))
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()
            .map_err(draw_err)?;
        let bars: [Bar; 2] = [
            ("relutui", PALETTE[0], |r| (r.test_error, r.sparsity), -0.38),
            (
                "paper (Glorot et al. 2011)",
                GREY,
                |r| (r.paper_test_error, r.paper_sparsity),
                0.02,
            ),
        ];
        for (name, color, get, offset) in bars {
            let mut rects = Vec::new();
            let mut texts = Vec::new();
            for (i, r) in table.rows.iter().enumerate() {
                let (err, sp) = get(r);
                let Some(e) = err else { continue };
                let (x0, x1) = (i as f64 + offset, i as f64 + offset + 0.36);
                rects.push(Rectangle::new([(x0, 0.0), (x1, e * 100.0)], color.filled()));
                let mut text = format!("{:.2} %", e * 100.0);
                if let Some(s) = sp {
                    text = format!("{text}, sp. {:.0} %", s * 100.0);
                }
                texts.push((text, (x0, e * 100.0 + top * 0.05)));
            }
            chart
                .draw_series(rects)
                .map_err(draw_err)?
                .label(name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 7), (x + 18, y + 7)], color.filled())
                });
            chart
                .draw_series(
                    texts
                        .into_iter()
                        .map(|(t, at)| Text::new(t, at, (FONT, LEGEND_SIZE - 2))),
                )
                .map_err(draw_err)?;
        }
        chart
            .configure_series_labels()
            .label_font((FONT, LEGEND_SIZE))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_format_parses() {
        let t = parse(
            r#"{"dataset":"mnist","rows":[{"activation":"rectifier","test_error":0.0148,
            "sparsity":0.84},{"activation":"tanh","test_error_at_best":1.7,"test_error":2.0,
            "paper_test_error":0.0157}]}"#,
        )
        .unwrap();
        assert_eq!(t.rows.len(), 2);
        assert_eq!(
            t.rows[0].paper_test_error,
            Some(0.0143),
            "built in for MNIST"
        );
        assert_eq!(t.rows[0].paper_sparsity, Some(0.834));
        assert_eq!(t.rows[1].test_error, Some(0.017), "percent, at best");
    }

    #[test]
    fn other_shapes_are_tolerated() {
        let text = "table\nrectifier 1.5 %\n[{\"net\":\"relu\",\"test_error\":0.015}]\n";
        let t = parse(text).unwrap();
        assert_eq!(t.rows[0].activation, "rectifier");
        let t = parse(
            r#"{"dataset":"cifar10","results":[{"name":"tanh","test_error":0.5}],
            "paper":{"tanh":{"test_error":0.5262}}}"#,
        )
        .unwrap();
        assert_eq!(t.rows[0].paper_test_error, Some(0.5262));
        let t = parse(r#"{"dataset":"cifar10","rows":[{"name":"tanh"}]}"#).unwrap();
        assert_eq!(
            t.rows[0].paper_test_error, None,
            "no built-in figure off MNIST"
        );
        assert!(parse("{}").unwrap_err().contains("rows"));
        assert!(parse("nothing").is_err());
        assert!(parse(r#"{"rows":[{"x":1}]}"#)
            .unwrap_err()
            .contains("activation"));
    }
}
